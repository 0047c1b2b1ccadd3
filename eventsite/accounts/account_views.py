"""The account page (/account/: the person's events and calendar, drawn by registration and
feeds) and its settings (/account/settings) with what their sections change: profile,
email address, password, the data download, deletion."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from eventsite import database, errors, i18n
from eventsite.accounts import forms, profile, services
from eventsite.accounts.blueprint import bp
from eventsite.accounts.models import User
from eventsite.errors import DomainError
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.timeutil import utcnow


def _account_forms(**overrides: Any) -> dict[str, Any]:
    user: User = current_user
    forms_ = {
        "profile_form": forms.ProfileForm(prefix="profile", obj=user, kept_country=user.country),
        "email_form": forms.ChangeEmailForm(prefix="email"),
        "password_form": forms.ChangePasswordForm(prefix="password"),
        "delete_form": forms.DeleteAccountForm(prefix="delete"),
    }
    forms_.update(overrides)
    return forms_


NO_STORE = {"Cache-Control": "private, no-store"}


def _settings_page(status: int = 200, **overrides: Any) -> tuple[str, int, dict[str, str]]:
    # The account's own data: no cache, no back/forward cache, no proxy may keep a copy.
    page = render_template("accounts/settings.html", **_account_forms(**overrides))
    return page, status, NO_STORE


@bp.get("/account/")
@login_required
def account() -> Any:
    # Where secret calendar addresses are made: as private as the settings.
    return render_template("accounts/account.html"), 200, NO_STORE


@bp.get("/account/settings")
@login_required
def settings() -> Any:
    return _settings_page()


@bp.post("/account/profile")
@login_required
def update_profile() -> Any:
    # A form without the language field (an older page) keeps the account's.
    form = forms.ProfileForm(
        prefix="profile",
        kept_country=current_user.country,
        data={"language": current_user.language},
    )
    if form.validate_on_submit():
        profile.update_profile(
            current_user,
            name=form.name.data,
            affiliation=form.affiliation.data or "",
            country=form.country.data or None,
            language=form.language.data,
        )
        db.session.commit()
        flash(_("Your profile is saved."), "success")
        response = redirect(url_for("accounts.settings"))
        i18n.remember_in_browser(response, current_user.language)
        return response
    return _settings_page(422, profile_form=form)


@bp.post("/account/email")
@login_required
def change_email() -> Any:
    form = forms.ChangeEmailForm(prefix="email")
    if form.validate_on_submit():
        try:
            address = profile.request_email_change(
                current_user,
                new_email=form.new_email.data,
                password=form.password.data,
                now=utcnow(),
            )
        except services.AccountError as err:
            errors.attach_to_form(form, err)
        else:
            db.session.commit()
            flash(
                _(
                    "We have sent a link to %(email)s. Your address changes when you follow it.",
                    email=address,
                ),
                "info",
            )
            return redirect(url_for("accounts.settings"))
    return _settings_page(422, email_form=form)


@bp.post("/account/password")
@login_required
def change_password() -> Any:
    form = forms.ChangePasswordForm(prefix="password")
    if form.validate_on_submit():
        user: User = current_user._get_current_object()
        try:
            profile.change_password(
                user,
                current=form.current_password.data,
                new=form.new_password.data,
                now=utcnow(),
            )
        except services.AccountError as err:
            errors.attach_to_form(form, err)
        else:
            db.session.commit()
            # Every other session died with the old token; keep this one, and renew its
            # remember-me cookie when it had one.
            cookie_name = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            login_user(user, remember=cookie_name in request.cookies)
            flash(_("Your password is changed. Other devices have been logged out."), "success")
            return redirect(url_for("accounts.settings"))
    return _settings_page(422, password_form=form)


@bp.get("/account/data.json")
@login_required
def download_data() -> Response:
    data = profile.export_user_data(current_user)
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-eventsite-data.json"'},
    )


@bp.post("/account/delete")
@login_required
def delete_account() -> Any:
    form = forms.DeleteAccountForm(prefix="delete")
    if form.validate_on_submit():
        # Cancelling the account's registrations promotes waiting lists: count under the lock.
        database.lock_for_write()
        user: User = current_user._get_current_object()
        try:
            profile.delete_account(user, password=form.password.data, now=utcnow())
        except DomainError as err:  # the password, or a package that refuses (signals)
            db.session.rollback()  # let go of the write lock before rendering
            if err.field:
                errors.attach_to_form(form, err)
            else:  # a rule about the whole account: said in the delete section itself
                form.form_errors.append(str(err))
        else:
            db.session.commit()
            logout_user()
            flash(_("Your account is deleted. Thank you for having been with us."), "info")
            return redirect(url_for("events.home"))
    return _settings_page(422, delete_form=form)
