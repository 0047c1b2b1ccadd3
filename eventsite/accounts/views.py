"""HTTP views of the accounts package: sign-up, log-in/out, links from emails, the account page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from eventsite import database, errors
from eventsite.accounts import forms, profile, services, tokens
from eventsite.accounts.models import User
from eventsite.errors import DomainError
from eventsite.extensions import db, limiter
from eventsite.timeutil import utcnow

bp = Blueprint("accounts", __name__)


def rate_limit(config_key: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Limit POSTs per IP address with the limit string in `config_key`."""
    return limiter.limit(lambda: current_app.config[config_key], methods=["POST"])


def safe_next_path(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no open redirect)."""
    if not target or len(target) > 2000:
        return None
    if any(ord(ch) <= 32 or ord(ch) == 127 or ch == "\\" for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _next_or(default: str) -> str:
    return safe_next_path(request.args.get("next")) or default


def _status(form: Any) -> int:
    return 422 if form.errors else 200


def _link_problem(err: tokens.TokenError) -> tuple[str, int]:
    return render_template("accounts/link_problem.html", message=str(err)), 400


# --- sign up, log in, log out ----------------------------------------------------------------


@bp.route("/signup", methods=["GET", "POST"])
@rate_limit("RATELIMIT_SIGNUP")
def signup() -> Any:
    if current_user.is_authenticated:
        return redirect(_next_or(url_for("accounts.account")))
    form = forms.SignupForm()
    if form.validate_on_submit():
        try:
            services.sign_up(
                name=form.name.data,
                email=form.email.data,
                password=form.password.data,
                affiliation=form.affiliation.data or "",
                country=form.country.data or None,
                now=utcnow(),
                next_path=safe_next_path(request.args.get("next")),
            )
        except services.AccountError as err:
            errors.attach_to_form(form, err)
        else:
            db.session.commit()
            # The same answer whether or not the address already had an account.
            flash(
                _(
                    "We have sent a message to %(email)s. Follow the link in it to confirm "
                    "your address; meanwhile you can log in.",
                    email=form.email.data.strip(),
                ),
                "success",
            )
            return redirect(
                url_for("accounts.login", next=safe_next_path(request.args.get("next")))
            )
    return render_template("accounts/signup.html", form=form), _status(form)


@bp.route("/login", methods=["GET", "POST"])
@rate_limit("RATELIMIT_LOGIN")
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(_next_or(url_for("accounts.account")))
    form = forms.LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, now=utcnow())
        except services.LoginError as err:
            db.session.commit()  # keep the failed attempt on the account's record
            form.form_errors.append(str(err))
            return render_template("accounts/login.html", form=form), 422
        db.session.commit()
        login_user(user, remember=bool(form.remember.data))
        flash(_("You are logged in."), "success")
        return redirect(_next_or(url_for("events.home")))
    return render_template("accounts/login.html", form=form), _status(form)


@bp.post("/logout")
def logout() -> BaseResponse:
    if current_user.is_authenticated:
        # Deleting the cookies in this browser is not enough: a copy of the session or
        # remember-me cookie would still open the account. A new session token ends them all.
        services.end_sessions(current_user._get_current_object())
        db.session.commit()
    logout_user()
    flash(
        _("You are logged out. So is every other device that was logged in to your account."),
        "info",
    )
    return redirect(url_for("events.home"))


# --- links from emails ---------------------------------------------------------------------------


@bp.get("/account/verify/<token>")
def verify_email(token: str) -> Any:
    try:
        services.verify_email(token, now=utcnow())
    except tokens.TokenError as err:
        return _link_problem(err)
    db.session.commit()
    flash(_("Thank you: your email address is confirmed."), "success")
    # Back to where the sign-up started (the registration form, say), if it said.
    next_path = safe_next_path(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_path or url_for("accounts.account"))
    return redirect(url_for("accounts.login", next=next_path))


@bp.post("/account/verify/resend")
@login_required
@rate_limit("RATELIMIT_RESEND_VERIFICATION")
def resend_verification() -> BaseResponse:
    form = forms.ResendVerificationForm()
    if form.validate_on_submit():
        if current_user.is_verified:
            flash(_("Your email address is already confirmed."), "info")
        else:
            services.send_verification_email(current_user, now=utcnow())
            db.session.commit()
            flash(
                _("We have sent a new confirmation link to %(email)s.", email=current_user.email),
                "success",
            )
    return redirect(url_for("accounts.account"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@rate_limit("RATELIMIT_PASSWORD_RESET")
def forgot_password() -> Any:
    form = forms.ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            # Only the address's shape: saying it is malformed tells nothing about accounts.
            address = services.normalise_email(form.email.data)
        except services.AccountError as err:
            errors.attach_to_form(form, err)
        else:
            services.request_password_reset(address, now=utcnow())
            db.session.commit()
            # Never say whether the address has an account.
            flash(
                _(
                    "If an account uses %(email)s, we have sent it a link to choose a new "
                    "password. The link works for one hour.",
                    email=address,
                ),
                "info",
            )
            return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form), _status(form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@rate_limit("RATELIMIT_PASSWORD_RESET")
def reset_password(token: str) -> Any:
    try:
        user = services.user_for_reset_token(token, now=utcnow())
    except tokens.TokenError as err:
        return _link_problem(err)
    form = forms.ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data, now=utcnow())
        except services.AccountError as err:
            errors.attach_to_form(form, err)
        else:
            db.session.commit()
            if current_user.is_authenticated:
                logout_user()
            flash(_("Your password is changed. Log in with it now."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form, user=user), _status(form)


@bp.get("/account/email/confirm/<token>")
def confirm_email_change(token: str) -> Any:
    try:
        user = profile.confirm_email_change(token, now=utcnow())
    except DomainError as err:
        db.session.rollback()
        return render_template("accounts/link_problem.html", message=str(err)), 400
    db.session.commit()
    flash(_("Your email address is now %(email)s.", email=user.email), "success")
    if current_user.is_authenticated:
        return redirect(url_for("accounts.account"))
    return redirect(url_for("accounts.login"))


# --- the account page --------------------------------------------------------------------------


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


def _account_page(status: int = 200, **overrides: Any) -> tuple[str, int, dict[str, str]]:
    # The account's own data, and the place where secret addresses are made: no cache, no
    # back/forward cache, no proxy may keep a copy.
    return render_template("accounts/account.html", **_account_forms(**overrides)), status, NO_STORE


@bp.get("/account/")
@login_required
def account() -> Any:
    return _account_page()


@bp.post("/account/profile")
@login_required
def update_profile() -> Any:
    form = forms.ProfileForm(prefix="profile", kept_country=current_user.country)
    if form.validate_on_submit():
        profile.update_profile(
            current_user,
            name=form.name.data,
            affiliation=form.affiliation.data or "",
            country=form.country.data or None,
        )
        db.session.commit()
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("accounts.account"))
    return _account_page(422, profile_form=form)


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
            return redirect(url_for("accounts.account"))
    return _account_page(422, email_form=form)


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
            return redirect(url_for("accounts.account"))
    return _account_page(422, password_form=form)


@bp.route("/account/password/first", methods=["GET", "POST"])
@login_required
def first_password() -> Any:
    """An account made by registering in one step chooses its password (optional: the
    log-in page's "forgot password" works as well, later)."""
    user: User = current_user._get_current_object()
    next_path = safe_next_path(request.args.get("next"))
    if user.has_password:
        return redirect(next_path or url_for("accounts.account"))
    form = forms.FirstPasswordForm()
    if form.validate_on_submit():
        try:
            profile.set_first_password(user, new=form.new_password.data, now=utcnow())
        except services.AccountError as err:
            errors.attach_to_form(form, err)
        else:
            db.session.commit()
            login_user(user)  # the new session token ended the old session: stay logged in
            flash(_("Your password is set. Log in with it next time."), "success")
            return redirect(next_path or url_for("accounts.account"))
    return render_template("accounts/first_password.html", form=form, next_path=next_path), _status(
        form
    )


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
    return _account_page(422, delete_form=form)
