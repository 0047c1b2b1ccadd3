"""HTTP views of "notify me": the email box's POST and the links in the emails."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from eventsite import i18n
from eventsite.accounts import tokens
from eventsite.accounts.services import AccountError
from eventsite.announcements import forms, services
from eventsite.extensions import csrf, db, limiter
from eventsite.i18n import gettext as _
from eventsite.timeutil import utcnow

bp = Blueprint("announcements", __name__)


@bp.route("/notify", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_NOTIFY"], methods=["POST"])
def subscribe() -> Any:
    form = forms.NotifyForm()
    if form.validate_on_submit():
        try:
            services.subscribe(form.email.data, now=utcnow(), language=i18n.current_code())
        except AccountError as err:
            form.email.errors = [*form.email.errors, str(err)]
        else:
            db.session.commit()
            # The same answer for new, pending and confirmed addresses.
            flash(
                _(
                    "Thank you. We have sent a message to %(email)s: follow its link to confirm, "
                    "and we will write once when events are announced.",
                    email=form.email.data.strip(),
                ),
                "success",
            )
            return redirect(url_for("events.home"))
    status = 422 if form.errors else 200
    return render_template("announcements/subscribe.html", form=form), status


@bp.route("/notify/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Any:
    """The link in the confirmation email: asks first (mail scanners open links), acts on
    POST; an address already confirmed is simply told so."""
    try:
        subscriber = services.subscription_for_token(token, now=utcnow())
    except tokens.TokenError as err:
        return render_template("announcements/result.html", ok=False, message=str(err)), 400
    form = forms.LinkActionForm()
    if subscriber.is_confirmed or form.validate_on_submit():
        services.confirm_subscription(token, now=utcnow())
        db.session.commit()
        return render_template(
            "announcements/result.html",
            ok=True,
            message=_(
                "Thank you: you are on the list. We will email you when events are announced."
            ),
        )
    return render_template("announcements/confirm.html", form=form, email=subscriber.email)


@bp.route("/notify/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> Any:
    """The link in every message: asks first (mail scanners open links), acts on POST."""
    try:
        address = services.unsubscribe_address(token, now=utcnow())
    except tokens.TokenError as err:
        return render_template("announcements/result.html", ok=False, message=str(err)), 400
    form = forms.LinkActionForm()
    if form.validate_on_submit():
        services.unsubscribe(token, now=utcnow())
        db.session.commit()
        return render_template(
            "announcements/result.html",
            ok=True,
            message=_(
                "%(email)s is unsubscribed. You will get no more announcements.", email=address
            ),
        )
    return render_template("announcements/unsubscribe.html", form=form, email=address)


@bp.route("/notify/unsubscribe/<token>/one-click", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click"; the token is the key
def unsubscribe_one_click(token: str) -> Any:
    if request.method == "GET":  # a person who opened the address: the page that asks
        return redirect(url_for("announcements.unsubscribe", token=token), 303)
    try:
        services.unsubscribe(token, now=utcnow())
    except tokens.TokenError as err:
        return _plain(str(err), 400)
    db.session.commit()
    return _plain(_("Unsubscribed."), 200)


def _plain(text: str, status: int) -> tuple[str, int, dict[str, str]]:
    return f"{text}\n", status, {"Content-Type": "text/plain; charset=utf-8"}
