"""Workspace views for the organisation's personal access tokens (the organiser API): make
one (its secret shown this once), see when each was last used, revoke one."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from eventsite.errors import DomainError, attach_to_form
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.organisations import access_tokens
from eventsite.organisations.models import Organisation
from eventsite.organiser import access, audit, forms
from eventsite.organiser.blueprint import bp
from eventsite.timeutil import utcnow

NO_STORE = {"Cache-Control": "no-store"}  # the page may show a secret


def _page(
    organisation: Organisation, form: forms.AccessTokenForm, secret: str | None = None
) -> tuple[str, int, dict[str, str]]:
    return (
        render_template(
            "organiser/api_tokens.html",
            organisation=organisation,
            form=form,
            secret=secret,
            tokens=access_tokens.tokens_of(organisation),
            now=utcnow(),
        ),
        422 if form.errors else 200,
        NO_STORE,
    )


@bp.route("/organisations/<int:organisation_id>/api-tokens", methods=["GET", "POST"])
def api_tokens(organisation_id: int) -> tuple[str, int, dict[str, str]]:
    organisation = access.load_organisation(organisation_id)
    form = forms.AccessTokenForm()
    if form.validate_on_submit():
        now = utcnow()
        try:
            token, secret = access_tokens.create_token(
                organisation,
                name=form.name.data,
                scope=access_tokens.TokenScope(form.scope.data),
                expires_at=form.expires_at(),
                created_by=current_user,
                now=now,
            )
        except DomainError as err:
            if err.field == "expires_at":  # the form asks for the day
                form.expires_on.errors = [*form.expires_on.errors, str(err)]
            else:
                attach_to_form(form, err)
        else:
            audit.record(
                "api_token_create",
                organisation_id=organisation.id,
                actor=current_user,
                now=now,
                token=token.name,
                scope=token.scope,
            )
            db.session.commit()
            # Shown in this response only: a redirect would need the secret kept somewhere.
            return _page(organisation, forms.AccessTokenForm(formdata=None), secret=secret)
    return _page(organisation, form)


@bp.post("/organisations/<int:organisation_id>/api-tokens/<int:token_id>/revoke")
def revoke_api_token(organisation_id: int, token_id: int) -> Response:
    organisation = access.load_organisation(organisation_id)
    token = db.session.get(access_tokens.AccessToken, token_id)
    if token is None or token.organisation_id != organisation.id:
        raise NotFound()
    if forms.ActionForm().validate_on_submit():
        now = utcnow()
        access_tokens.revoke_token(token, now)
        audit.record(
            "api_token_revoke",
            organisation_id=organisation.id,
            actor=current_user,
            now=now,
            token=token.name,
        )
        db.session.commit()
        flash(_("The token “%(name)s” is revoked.", name=token.name), "success")
    return redirect(url_for("organiser.api_tokens", organisation_id=organisation.id))
