"""Workspace views for organisations: profile, logo, members, invitations."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from eventsite import database, errors
from eventsite.errors import DomainError
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.organisations import invitations
from eventsite.organisations import services as organisations
from eventsite.organisations.models import Organisation, OrganisationInvitation
from eventsite.organiser import access, audit, forms
from eventsite.organiser.blueprint import bp
from eventsite.organiser.event_views import Page
from eventsite.timeutil import utcnow


def _profile_form(organisation: Organisation) -> forms.OrganisationForm:
    if request.method == "POST":
        return forms.OrganisationForm()
    form = forms.OrganisationForm(obj=organisation)
    if organisation.logo_image is not None:
        form.logo_alt.data = organisation.logo_image.alt
    return form


def _organisation_page(
    organisation: Organisation,
    form: forms.OrganisationForm | None = None,
    member_form: forms.MemberForm | None = None,
) -> Page:
    form = form or forms.OrganisationForm(obj=organisation, formdata=None)
    member_form = member_form or forms.MemberForm(formdata=None)
    members = db.session.scalars(organisations.members_of(organisation)).all()
    pending = db.session.scalars(invitations.pending_invitations(organisation)).all()
    entries = db.session.scalars(audit.organisation_log(organisation.id).limit(100)).all()
    status = 422 if (form.errors or member_form.errors) else 200
    return render_template(
        "organiser/organisation.html",
        organisation=organisation,
        form=form,
        member_form=member_form,
        members=members,
        invitations=pending,
        invitation_max_age=invitations.invitation_max_age(),
        entries=entries,
        action_form=forms.ActionForm(),
    ), status


@bp.route("/organisations/new", methods=["GET", "POST"])
def new_organisation() -> Page:
    access.require_admin()
    form = forms.NewOrganisationForm()
    if form.validate_on_submit():
        now = utcnow()
        try:
            organisation = organisations.create_organisation(
                {
                    "name": form.name.data,
                    "slug": form.slug.data,
                    "description": forms.plain_text(form.description.data),
                    "website": form.website.data,
                },
                current_user,
                now,
            )
            # The administrator who creates it is its first member; the first member they
            # name is invited like anyone else, and joins by accepting.
            organisations.join_as_creator(organisation, current_user._get_current_object(), now)
            outcome = None
            if form.first_member.data:
                outcome = organisations.add_member(
                    organisation, form.first_member.data, current_user, now
                )
        except DomainError as err:
            errors.attach_to_form(form, err)
        else:
            db.session.commit()
            flash(_("“%(name)s” is created.", name=organisation.name), "success")
            if outcome is not None:
                _flash_add_member(outcome, form.first_member.data)
            flash(
                _(
                    "You are its first member. Once someone you invite has accepted, you can "
                    "leave it."
                ),
                "info",
            )
            return redirect(url_for("organiser.organisation", organisation_id=organisation.id))
    return render_template("organiser/organisation_new.html", form=form), (
        422 if form.errors else 200
    )


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
def organisation(organisation_id: int) -> Page:
    organisation = access.load_organisation(organisation_id)
    form = _profile_form(organisation)
    if form.validate_on_submit():
        now = utcnow()
        upload = form.logo.data
        try:
            organisations.update_profile(
                organisation,
                {
                    "name": form.name.data.strip(),
                    "description": forms.plain_text(form.description.data),
                    "website": (form.website.data or "").strip() or None,
                },
                current_user,
                now,
            )
            alt = (form.logo_alt.data or "").strip()
            if upload and getattr(upload, "filename", ""):
                organisations.set_logo(organisation, upload.read(), alt, current_user, now)
            elif form.remove_logo.data:
                organisations.remove_logo(organisation, current_user, now)
            elif organisation.logo_image is not None:
                organisations.set_logo_alt(organisation, alt, current_user, now)
        except DomainError as err:
            db.session.rollback()
            organisation = access.load_organisation(organisation_id)
            errors.attach_to_form(form, err)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("organiser.organisation", organisation_id=organisation.id))
    return _organisation_page(organisation, form=form)


def _flash_add_member(outcome: str, email: str) -> None:
    """What `organisations.add_member` did: the same answer whether or not the address
    has an account."""
    messages = {
        "invited": _("Invitation sent to %(email)s.", email=email),
        "reinvited": _(
            "%(email)s already had a pending invitation: it is sent again, with a new "
            "link (the link in the earlier email no longer works).",
            email=email,
        ),
        "already": _("%(email)s is already a member.", email=email),
    }
    flash(messages[outcome], "success" if outcome == "invited" else "info")


@bp.post("/organisations/<int:organisation_id>/members")
def add_member(organisation_id: int) -> Page:
    organisation = access.load_organisation(organisation_id)
    member_form = forms.MemberForm()
    if member_form.validate_on_submit():
        # SQLite: hold the write lock while looking for a pending invitation of the address.
        database.lock_for_write()
        try:
            outcome = organisations.add_member(
                organisation, member_form.email.data, current_user, utcnow()
            )
        except DomainError as err:
            db.session.rollback()
            member_form.email.errors = [*member_form.email.errors, str(err)]
            return _organisation_page(organisation, member_form=member_form)
        db.session.commit()
        _flash_add_member(outcome, member_form.email.data)
        return redirect(url_for("organiser.organisation", organisation_id=organisation.id))
    return _organisation_page(organisation, member_form=member_form)


@bp.post("/organisations/<int:organisation_id>/members/<int:user_id>/remove")
def remove_member(organisation_id: int, user_id: int) -> Response:
    organisation = access.load_organisation(organisation_id)
    if forms.ActionForm().validate_on_submit():
        # SQLite: hold the write lock while counting the members left (PostgreSQL locks rows).
        database.lock_for_write()
        try:
            user = organisations.remove_member(organisation, user_id, current_user, utcnow())
        except DomainError as err:
            flash(str(err), "error")
        else:
            db.session.commit()
            if user.id == current_user.id:
                flash(_("You have left %(name)s.", name=organisation.name), "success")
            else:
                flash(_("%(name)s is no longer a member.", name=user.name), "success")
            if not current_user.is_member_of(organisation.id):
                # Someone who organises nothing any more has no workspace to go back to.
                if current_user.is_organiser or current_user.is_admin:
                    return redirect(url_for("organiser.index"))
                return redirect(url_for("accounts.account"))
    return redirect(url_for("organiser.organisation", organisation_id=organisation.id))


@bp.post("/organisations/<int:organisation_id>/invitations/<int:invitation_id>/revoke")
def revoke_invitation(organisation_id: int, invitation_id: int) -> Response:
    organisation = access.load_organisation(organisation_id)
    invitation = db.get_or_404(OrganisationInvitation, invitation_id)
    if invitation.organisation_id != organisation.id:
        abort(404)
    if forms.ActionForm().validate_on_submit():
        email = invitation.email
        # SQLite: the write lock, so an acceptance cannot slip in between (PostgreSQL: row).
        database.lock_for_write()
        try:
            revoked = invitations.revoke_invitation(invitation, current_user, utcnow())
        except DomainError as err:
            flash(str(err), "error")
        else:
            db.session.commit()
            if revoked:
                flash(_("The invitation to %(email)s is withdrawn.", email=email), "success")
            else:
                flash(_("The invitation to %(email)s was already withdrawn.", email=email), "info")
    return redirect(url_for("organiser.organisation", organisation_id=organisation.id))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Page:
    """Open to any logged-in person, organiser or not: the secret in the link, sent to one
    address, is the key, and the account must have that address."""
    form = forms.ActionForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        # SQLite: the write lock, so a revocation cannot slip in between (PostgreSQL: row).
        database.lock_for_write()
        try:
            organisation = organisations.accept_invitation(token, user, utcnow())
        except DomainError as err:
            return _invitation_problem(err)
        db.session.commit()
        flash(_("Welcome to %(name)s.", name=organisation.name), "success")
        return redirect(url_for("organiser.organisation", organisation_id=organisation.id))
    try:
        invitation = invitations.check_invitation(
            invitations.find_invitation(token), user, utcnow()
        )
    except DomainError as err:
        return _invitation_problem(err)
    if invitation.accepted_at is not None:
        return redirect(
            url_for("organiser.organisation", organisation_id=invitation.organisation_id)
        )
    return render_template(
        "organiser/invitation.html", form=form, token=token, invitation=invitation
    ), (400 if form.errors else 200)


def _invitation_problem(err: DomainError) -> Page:
    return render_template("organiser/invitation.html", problem=str(err)), 400
