"""Workspace views for events: the list, create, edit, publish, cancel, duplicate, and
deleting a draft."""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from eventsite import errors, markup, timeutil
from eventsite.errors import DomainError
from eventsite.events import services
from eventsite.events.models import Event, Topic
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.i18n import ngettext
from eventsite.organiser import access, audit, forms, queries
from eventsite.organiser.blueprint import bp
from eventsite.registration import notifications
from eventsite.timeutil import utcnow

Page = str | Response | tuple[str, int]


def _topics() -> list[Topic]:
    return list(db.session.scalars(select(Topic).order_by(Topic.name)))


def _selected_topics(form: forms.EventForm, topics: list[Topic]) -> list[Topic]:
    wanted = set(form.topics.data or [])
    return [t for t in topics if t.id in wanted]


@bp.get("/")
def index() -> Page:
    now = utcnow()
    status = request.args.get("status", "all")
    if status not in queries.LIST_FILTERS:
        status = "all"
    organisations = list(db.session.scalars(queries.organisations_for(current_user)))
    organisation_id = request.args.get("organisation", type=int)
    if organisation_id is not None and not current_user.is_member_of(organisation_id):
        organisation_id = None
    page = db.paginate(
        queries.workspace_events(current_user, status, now, organisation_id),
        page=queries.page_number(request.args),
        per_page=50,
        error_out=False,
    )
    events = list(page.items)
    return render_template(
        "organiser/index.html",
        organisations=organisations,
        events=events,
        page=page,
        status=status,
        organisation_id=organisation_id,
        tab_counts=queries.workspace_tab_counts(current_user, now, organisation_id),
        counts=queries.registration_counts([e.id for e in events]),
        now=now,
    )


@bp.route("/organisations/<int:organisation_id>/events/new", methods=["GET", "POST"])
def new_event(organisation_id: int) -> Page:
    organisation = access.load_organisation(organisation_id)
    topics = _topics()
    recent = services.recent_timezones(organisation.id)
    form = forms.EventForm(topic_choices=[(t.id, t.name) for t in topics], first_timezones=recent)
    if request.method == "GET":
        if recent:
            form.timezone.data = recent[0]
        else:
            # No zone of the organisation's yet: the browser's own if offered (JS), else UTC.
            form.timezone.render_kw["data-prefer-browser"] = "true"
    preview = None
    if form.preview.data:
        preview = markup.render_markdown(form.description.data)
    elif form.validate_on_submit():
        now = utcnow()
        try:
            event = services.create_event(
                organisation, form.values(), now, topics=_selected_topics(form, topics)
            )
        except DomainError as err:
            errors.attach_to_form(form, err)
        else:
            audit.record_for_event(
                event,
                "create",
                now,
                title=event.title,
            )
            db.session.commit()
            flash(_("The draft “%(title)s” is saved.", title=event.title), "success")
            return redirect(url_for("organiser.event", event_id=event.id))
    return render_template(
        "organiser/event_form.html",
        form=form,
        organisation=organisation,
        event=None,
        preview=preview,
    ), 422 if form.errors else 200


@bp.get("/events/<int:event_id>")
def event(event_id: int) -> Page:
    event = access.load_event(event_id)
    entries = db.session.scalars(audit.event_log(event.id).limit(200)).all()
    return render_template(
        "organiser/event.html",
        event=event,
        overview=queries.event_overview(event),
        entries=entries,
        cancel_form=forms.CancelEventForm(),
        action_form=forms.ActionForm(),
        now=utcnow(),
    )


@dataclass(frozen=True)
class EmailNotice:
    """The confirmation step before a save that emails registrants: how many, about what."""

    count: int
    plan: services.PlannedUpdate

    @property
    def message(self) -> str:
        time, place = self.plan.is_time, self.plan.is_place
        if time and place:
            return ngettext(
                "Saving will email %(num)d registered person about the new time and place.",
                "Saving will email %(num)d registered people about the new time and place.",
                self.count,
            )
        if time:
            return ngettext(
                "Saving will email %(num)d registered person about the new time.",
                "Saving will email %(num)d registered people about the new time.",
                self.count,
            )
        if place:
            return ngettext(
                "Saving will email %(num)d registered person about the new place.",
                "Saving will email %(num)d registered people about the new place.",
                self.count,
            )
        return ngettext(
            "Saving will email %(num)d registered person about the changes.",
            "Saving will email %(num)d registered people about the changes.",
            self.count,
        )


def _email_notice(
    event: Event, form: forms.EventForm, plan: services.PlannedUpdate
) -> EmailNotice | None:
    """The confirmation to show before saving, or None when the save may go ahead: it
    emails nobody, or the organiser confirmed emailing this many people."""
    if not plan.tells_registrants or form.skip_notification.data:
        return None
    count = notifications.change_recipient_count(event)
    if count == 0 or (form.emails_confirmed.data or "").strip() == str(count):
        return None
    form.emails_confirmed.data = str(count)  # confirming posts the form back with it
    return EmailNotice(count, plan)


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
def edit_event(event_id: int) -> Page:
    event = access.load_event(event_id)
    topics = _topics()
    choices = [(t.id, t.name) for t in topics]
    recent = services.recent_timezones(event.organisation_id)
    if request.method == "POST":
        form = forms.EventForm(
            topic_choices=choices,
            kept_timezone=event.timezone,
            kept_country=event.country,
            first_timezones=recent,
        )
    else:
        form = forms.EventForm.for_event(event, topic_choices=choices, first_timezones=recent)
    if event.published_at is not None:
        form.slug.render_kw = {"readonly": True}
    preview = notice = None
    refused = False
    if form.preview.data:
        preview = markup.render_markdown(form.description.data)
    elif form.validate_on_submit():
        now = utcnow()
        values, chosen = form.values(), _selected_topics(form, topics)
        move_agenda = bool(form.move_agenda.data)
        try:
            notice = _email_notice(
                event, form, services.plan_update(event, values, chosen, move_agenda=move_agenda)
            )
            update = None
            if notice is None:
                update = services.update_event(
                    event,
                    values,
                    now,
                    topics=chosen,
                    move_agenda=move_agenda,
                    notify=not form.skip_notification.data,
                )
        except DomainError as err:
            errors.attach_to_form(form, err)
            refused = True
        else:
            if update is not None:
                if update:
                    audit.record_for_event(
                        event,
                        "edit",
                        now,
                        changes=audit.changes_detail(update.changes),
                        revision=event.revision if update.revision_raised else None,
                    )
                db.session.commit()
                if update:
                    flash(_("Saved."), "success")
                else:
                    flash(_("Nothing changed."), "info")
                return redirect(url_for("organiser.event", event_id=event.id))
    return render_template(
        "organiser/event_form.html",
        form=form,
        organisation=event.organisation,
        event=event,
        preview=preview,
        notice=notice,
    ), 422 if form.errors or refused else 200


@bp.post("/events/<int:event_id>/publish")
def publish_event(event_id: int) -> Page:
    event = access.load_event(event_id)
    form = forms.ActionForm()
    if form.validate_on_submit():
        now = utcnow()
        try:
            services.publish_event(event, now)
        except DomainError as err:
            flash(str(err), "error")
        else:
            audit.record_for_event(
                event,
                "publish",
                now,
            )
            db.session.commit()
            flash(_("“%(title)s” is published.", title=event.title), "success")
    return redirect(url_for("organiser.event", event_id=event.id))


@bp.route("/events/<int:event_id>/cancel", methods=["GET", "POST"])
def cancel_event(event_id: int) -> Page:
    event = access.load_event(event_id)
    form = forms.CancelEventForm()
    if form.validate_on_submit():
        now = utcnow()
        try:
            services.cancel_event(event, form.reason.data, now)
        except DomainError as err:
            errors.attach_to_form(form, err)
        else:
            audit.record_for_event(
                event,
                "cancel",
                now,
                reason=event.cancellation_reason,
            )
            db.session.commit()
            flash(
                _("“%(title)s” is cancelled; registrants are told.", title=event.title), "success"
            )
            return redirect(url_for("organiser.event", event_id=event.id))
    return render_template("organiser/cancel.html", event=event, form=form), (
        422 if form.errors else 200
    )


@bp.route("/events/<int:event_id>/duplicate", methods=["GET", "POST"])
def duplicate_event(event_id: int) -> Page:
    event = access.load_event(event_id)
    form = forms.DuplicateEventForm()
    if request.method == "GET":
        form.title.data = event.title
        form.starts_local.data = forms.to_local_input(event.starts_at, event.timezone)
    if form.validate_on_submit():
        now = utcnow()
        try:
            copy = services.duplicate_event(
                event,
                form.title.data,
                timeutil.local_to_utc(form.starts_local.data, event.timezone),
                now,
                rescheduled=bool(form.rescheduled.data) and event.is_cancelled,
            )
        except DomainError as err:
            errors.attach_to_form(form, err)
        else:
            audit.record_for_event(
                copy,
                "create",
                now,
                title=copy.title,
                duplicated_from=event.slug,
            )
            audit.record_for_event(
                event,
                "duplicate",
                now,
                copy=copy.slug,
            )
            db.session.commit()
            flash(_("The copy “%(title)s” is a draft.", title=copy.title), "success")
            return redirect(url_for("organiser.event", event_id=copy.id))
    return render_template("organiser/duplicate.html", event=event, form=form), (
        422 if form.errors else 200
    )


# --- deleting a draft --------------------------------------------------------------------


@bp.route("/events/<int:event_id>/delete", methods=["GET", "POST"])
def delete_event(event_id: int) -> Page:
    event = access.load_event(event_id)
    form = forms.DeleteDraftForm()
    if form.validate_on_submit():
        organisation_id, title, slug = event.organisation_id, event.title, event.slug
        try:
            services.delete_draft(event)
        except DomainError as err:
            flash(str(err), "error")
            return redirect(url_for("organiser.event", event_id=event.id))
        # The entry stays with the organisation, naming the draft.
        audit.record(
            "delete_draft",
            organisation_id=organisation_id,
            actor=current_user,
            now=utcnow(),
            title=title,
            slug=slug,
        )
        db.session.commit()
        flash(_("The draft “%(title)s” is deleted.", title=title), "success")
        return redirect(url_for("organiser.organisation", organisation_id=organisation_id))
    return render_template(
        "organiser/delete.html",
        event=event,
        form=form,
        refusal=services.draft_deletion_refusal(event),
        overview=queries.event_overview(event),
    )
