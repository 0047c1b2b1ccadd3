"""HTTP views of "notify me": the email box's POST and the two links in the emails."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from eventsite.accounts import tokens
from eventsite.accounts.services import AccountError
from eventsite.announcements import forms, services
from eventsite.extensions import db, limiter
from eventsite.timeutil import utcnow

bp = Blueprint("announcements", __name__)


@bp.route("/notify", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_NOTIFY"], methods=["POST"])
def subscribe() -> Any:
    form = forms.NotifyForm()
    if form.validate_on_submit():
        try:
            services.subscribe(form.email.data, now=utcnow())
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


@bp.get("/notify/confirm/<token>")
def confirm(token: str) -> Any:
    try:
        services.confirm_subscription(token, now=utcnow())
    except tokens.TokenError as err:
        return render_template("announcements/result.html", ok=False, message=str(err)), 400
    db.session.commit()
    return render_template(
        "announcements/result.html",
        ok=True,
        message=_("Thank you: you are on the list. We will email you when events are announced."),
    )


@bp.get("/notify/unsubscribe/<token>")
def unsubscribe(token: str) -> Any:
    try:
        address = services.unsubscribe(token, now=utcnow())
    except tokens.TokenError as err:
        return render_template("announcements/result.html", ok=False, message=str(err)), 400
    db.session.commit()
    return render_template(
        "announcements/result.html",
        ok=True,
        message=_("%(email)s is unsubscribed. You will get no more announcements.", email=address),
    )
