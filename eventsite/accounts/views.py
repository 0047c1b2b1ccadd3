"""HTTP views of the accounts package: sign-up, log-in/out, links from emails. The account
page is in `account_views`; importing it here registers its routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from eventsite import errors, page_cache
from eventsite.accounts import (
    account_views,  # noqa: F401  registers the account page's routes
    destinations,
    forms,
    login_brake,
    login_links,
    profile,
    services,
    tokens,
)
from eventsite.accounts.blueprint import bp
from eventsite.accounts.models import User
from eventsite.errors import DomainError
from eventsite.extensions import db, limiter
from eventsite.i18n import gettext as _
from eventsite.timeutil import utcnow


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


def _link_problem(err: DomainError) -> tuple[str, int]:
    next_path = safe_next_path(request.args.get("next"))
    return render_template("accounts/link_problem.html", message=str(err), next_path=next_path), 400


# The address to fill in on the log-in page, kept in the session: in the URL it would end
# up in logs and in the browser's history.
PREFILL_EMAIL = "login_email"


def _to_login(next_path: str | None = None, email: str | None = None) -> BaseResponse:
    """To the log-in page, with the address filled in when we know it."""
    if email:
        session[PREFILL_EMAIL] = email
    return redirect(url_for("accounts.login", next=next_path))


def _login_page(
    form: forms.LoginForm, link_form: forms.LoginLinkRequestForm, status: int
) -> tuple[str, int]:
    next_path = safe_next_path(request.args.get("next"))
    return render_template(
        "accounts/login.html",
        form=form,
        link_form=link_form,
        next_path=next_path,
        destination=destinations.describe(next_path),
    ), status


def _asked_address_key() -> str:
    """The rate limit's key for the address a log-in link is asked for (keyed like the
    log-in brake, so the limiter's store does not list addresses either)."""
    return "login-link:" + login_brake.address_key(request.form.get("link-email", ""))


# --- sign up, log in, log out ----------------------------------------------------------------


@bp.route("/signup", methods=["GET", "POST"])
@rate_limit("RATELIMIT_SIGNUP")
def signup() -> Any:
    if current_user.is_authenticated:
        return redirect(_next_or(url_for("accounts.account")))
    form = forms.SignupForm()
    if form.validate_on_submit():
        next_path = safe_next_path(request.args.get("next"))
        try:
            user = services.sign_up(
                name=form.name.data,
                email=form.email.data,
                password=form.password.data,
                affiliation=form.affiliation.data or "",
                country=form.country.data or None,
                now=utcnow(),
                next_path=next_path,
            )
        except services.AccountError as err:
            errors.attach_to_form(form, err)
        else:
            db.session.commit()
            address = form.email.data.strip()
            if user is None:  # the address has an account: its owner got a note
                flash(_("We have sent a message to %(email)s.", email=address), "info")
                return _to_login(next_path, address)
            login_user(user)
            flash(
                _(
                    "Welcome, you are logged in. We have sent a message to %(email)s: follow "
                    "the link in it to confirm your address.",
                    email=address,
                ),
                "success",
            )
            return redirect(next_path or url_for("accounts.account"))
    next_path = safe_next_path(request.args.get("next"))
    return render_template(
        "accounts/signup.html",
        form=form,
        next_path=next_path,
        destination=destinations.describe(next_path),
    ), _status(form)


@bp.route("/login", methods=["GET", "POST"])
@rate_limit("RATELIMIT_LOGIN")
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(_next_or(url_for("accounts.account")))
    form = forms.LoginForm()
    link_form = forms.LoginLinkRequestForm(prefix="link")
    if not form.is_submitted():
        prefill = session.pop(PREFILL_EMAIL, None)
        if isinstance(prefill, str):
            form.email.data = link_form.email.data = prefill
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, now=utcnow())
        except services.LoginError as err:
            db.session.commit()  # keep the failed attempt on the account's record
            form.form_errors.append(str(err))
            return _login_page(form, link_form, 422)
        db.session.commit()
        login_user(user, remember=bool(form.remember.data))
        flash(_("You are logged in."), "success")
        return redirect(_next_or(url_for("events.home")))
    return _login_page(form, link_form, _status(form))


@bp.post("/login/link")
@rate_limit("RATELIMIT_LOGIN_LINK")
@limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN_LINK_ADDRESS"],
    methods=["POST"],
    key_func=_asked_address_key,
)
def request_login_link() -> Any:
    if current_user.is_authenticated:
        return redirect(_next_or(url_for("accounts.account")))
    link_form = forms.LoginLinkRequestForm(prefix="link")
    if link_form.validate_on_submit():
        try:
            # Only the address's shape: saying it is malformed tells nothing about accounts.
            address = services.normalise_email(link_form.email.data)
        except services.AccountError as err:
            errors.attach_to_form(link_form, err)
        else:
            next_path = safe_next_path(request.args.get("next"))
            login_links.request_login_link(address, utcnow(), next_path=next_path)
            db.session.commit()
            # Never say whether the address has an account.
            flash(
                _(
                    "If an account uses %(email)s, we have sent it a link to log in. The "
                    "link works once, for %(minutes)d minutes.",
                    email=address,
                    minutes=current_app.config["LOGIN_LINK_MAX_AGE"] // 60,
                ),
                "info",
            )
            return _to_login(next_path, address)
    return _login_page(forms.LoginForm(formdata=None), link_form, 422)


@bp.route("/login/link/<token>", methods=["GET", "POST"])
@rate_limit("RATELIMIT_LOGIN")
def login_with_link(token: str) -> Any:
    # Opening the link only shows a button: mail scanners that open every link in a
    # message must not spend it (or log in) before the person does.
    try:
        user = login_links.user_for_login_link(token, now=utcnow())
    except tokens.TokenError as err:
        return _link_problem(err)
    form = forms.LoginLinkForm()
    if form.validate_on_submit():
        try:
            user = login_links.log_in_with_link(token, now=utcnow())
        except tokens.TokenError as err:  # spent by a request that ran at the same time
            db.session.rollback()
            return _link_problem(err)
        db.session.commit()
        login_user(user, remember=bool(form.remember.data))
        flash(_("You are logged in."), "success")
        return redirect(_next_or(url_for("events.home")))
    return render_template("accounts/login_link.html", form=form, user=user), _status(form)


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
    response = redirect(url_for("events.home"))
    # Door mode's stored list of registrants and its offline page go with the log-out.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


# --- links from emails ---------------------------------------------------------------------------


@bp.get("/account/verify/<token>")
def verify_email(token: str) -> Any:
    try:
        user = services.verify_email(token, now=utcnow())
    except tokens.TokenError as err:
        return _link_problem(err)
    db.session.commit()
    flash(_("Thank you: your email address is confirmed."), "success")
    # Back to where the sign-up started (the registration form, say), if it said.
    next_path = safe_next_path(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_path or url_for("accounts.account"))
    return _to_login(next_path, user.email)


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
            return _to_login(email=address)
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
            return _to_login(email=user.email)
    return render_template("accounts/reset_password.html", form=form, user=user), _status(form)


@bp.get("/account/email/confirm/<token>")
def confirm_email_change(token: str) -> Any:
    try:
        user = profile.confirm_email_change(token, now=utcnow())
    except DomainError as err:
        db.session.rollback()
        return _link_problem(err)
    db.session.commit()
    flash(_("Your email address is now %(email)s.", email=user.email), "success")
    if current_user.is_authenticated:
        return redirect(url_for("accounts.account"))
    return _to_login(email=user.email)


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


# --- the account links on kept pages ------------------------------------------------------------


def _account_links_are_holes(state: BlueprintSetupState) -> None:
    # The header's links and the "confirm your address" banner are the visitor's own: a
    # logged-in visitor gets a kept page with theirs drawn in (page_cache.holes).
    page_cache.add_hole(
        state.app, "account", lambda _args: render_template("accounts/_account_nav.html")
    )
    page_cache.add_hole(
        state.app,
        "account-banner",
        lambda _args: render_template("accounts/_unverified_banner.html"),
    )


bp.record_once(_account_links_are_holes)
