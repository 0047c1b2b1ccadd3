"""HTTP views of sharing: the stand-alone form and the POST from every event page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from eventsite.accounts.services import AccountError
from eventsite.extensions import db, limiter
from eventsite.i18n import gettext as _
from eventsite.sharing import forms, services
from eventsite.timeutil import utcnow

bp = Blueprint("sharing", __name__)


def _account_key() -> str:
    return f"share-account:{current_user.id}"


@bp.route("/events/<slug>/share", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_SHARE"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["RATELIMIT_SHARE_ACCOUNT"],
    methods=["POST"],
    key_func=_account_key,
    exempt_when=lambda: not current_user.is_authenticated,
)
def share(slug: str) -> Any:
    event = services.get_shareable_event_or_404(slug)
    form = forms.ShareForm()
    if not form.is_submitted() and current_user.is_authenticated:
        form.name.data = current_user.name
    if form.validate_on_submit():
        try:
            services.share_event(
                event,
                to=form.email.data,
                sender_name=form.name.data,
                note=form.note.data or "",
                sender=current_user._get_current_object()
                if current_user.is_authenticated
                else None,
                now=utcnow(),
            )
        except (services.ShareError, AccountError) as err:
            form.email.errors = [*form.email.errors, str(err)]
        else:
            db.session.commit()
            flash(
                _("Your suggestion is on its way to %(email)s.", email=form.email.data), "success"
            )
            return redirect(url_for("events.detail", slug=event.slug))
    status = 422 if form.errors else 200
    return render_template("sharing/share.html", event=event, form=form), status
