"""The "tell me when registration opens" pages: asking on the event's behalf, and the links
in its emails (confirm, unsubscribe). Routes of the registration blueprint; create_app
imports this module so they are registered with it."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from eventsite import i18n
from eventsite.accounts import tokens
from eventsite.accounts.services import AccountError
from eventsite.extensions import csrf, db, limiter
from eventsite.i18n import gettext as _
from eventsite.registration import alerts, forms, rules
from eventsite.registration.views import _published_event_or_404, bp
from eventsite.timeutil import utcnow


@bp.route("/events/<slug>/alert", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["RATELIMIT_NOTIFY"],
    methods=["POST"],
    exempt_when=lambda: current_user.is_authenticated,
)
def alert(slug: str) -> Any:
    event = _published_event_or_404(slug)
    now = utcnow()
    page = url_for("events.detail", slug=event.slug)
    if not alerts.may_subscribe(event, now):
        flash(_("Registration for this event is not waiting to open."), "info")
        return redirect(page)
    user = current_user if current_user.is_authenticated else None
    form = forms.AlertForm() if user is None else forms.LinkActionForm()
    if form.validate_on_submit():
        try:
            if user is not None:
                alerts.subscribe_user(user, event, now)
            else:
                alerts.subscribe_visitor(form.email.data, event, now, language=i18n.current_code())
        except (AccountError, rules.RegistrationError) as err:
            db.session.rollback()
            if user is None:
                form.email.errors = [*form.email.errors, str(err)]
            else:
                flash(str(err), "error")
        else:
            db.session.commit()
            if user is not None:
                flash(_("We will email you when registration opens."), "success")
            else:
                # The same answer for new, waiting and confirmed addresses.
                flash(
                    _(
                        "Thank you. We have sent a message to %(email)s: follow its link to "
                        "confirm, and we will write once when registration opens.",
                        email=form.email.data.strip(),
                    ),
                    "success",
                )
            return redirect(page)
    return render_template(
        "registration/alert.html",
        event=event,
        form=form,
        user=user,
        opens=rules.local_moment(event.registration_opens_at, event.timezone),
    ), 422 if form.errors else 200


@bp.route("/alerts/confirm/<token>", methods=["GET", "POST"])
def alert_confirm(token: str) -> Any:
    """The link in the confirmation email: asks first (mail scanners open links), acts on
    POST; an address already confirmed is simply told so."""
    now = utcnow()
    try:
        subscription = alerts.alert_for_confirmation(token, now)
    except tokens.TokenError as err:
        return render_template("registration/alert_result.html", ok=False, message=str(err)), 400
    form = forms.LinkActionForm()
    if subscription.is_confirmed or form.validate_on_submit():
        alerts.confirm(token, now)
        db.session.commit()
        return render_template(
            "registration/alert_result.html",
            ok=True,
            event=subscription.event,
            message=_(
                "Thank you: we will email you when registration opens for %(title)s.",
                title=subscription.event.title,
            ),
        )
    return render_template(
        "registration/alert_confirm.html",
        form=form,
        email=subscription.email,
        event=subscription.event,
    )


@bp.route("/alerts/unsubscribe/<token>", methods=["GET", "POST"])
def alert_unsubscribe(token: str) -> Any:
    """The link in every message: asks first (mail scanners open links), acts on POST."""
    now = utcnow()
    try:
        event, address = alerts.unsubscribe_target(token, now)
    except tokens.TokenError as err:
        return render_template("registration/alert_result.html", ok=False, message=str(err)), 400
    form = forms.LinkActionForm()
    if form.validate_on_submit():
        alerts.unsubscribe(token, now)
        db.session.commit()
        return render_template(
            "registration/alert_result.html",
            ok=True,
            message=_(
                "%(email)s will get no email about this event's registration.", email=address
            ),
        )
    return render_template(
        "registration/alert_unsubscribe.html", form=form, email=address, event=event
    )


@bp.route("/alerts/unsubscribe/<token>/one-click", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click"; the token is the key
def alert_unsubscribe_one_click(token: str) -> Any:
    if request.method == "GET":  # a person who opened the address: the page that asks
        return redirect(url_for("registration.alert_unsubscribe", token=token), 303)
    try:
        alerts.unsubscribe(token, utcnow())
    except tokens.TokenError as err:
        return f"{err}\n", 400, {"Content-Type": "text/plain; charset=utf-8"}
    db.session.commit()
    return _("Unsubscribed.") + "\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
