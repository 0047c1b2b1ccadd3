"""Name badges of an event's confirmed registrants (or of the people ticked on the
registrants table), as a PDF to print: the page that picks the sheet, and the download."""

from __future__ import annotations

import unicodedata

from flask import render_template, request
from werkzeug.wrappers import Response

from eventsite import templating
from eventsite.events.models import Event
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.organiser import access, audit, badges, registrant_forms
from eventsite.organiser.blueprint import bp
from eventsite.organiser.event_views import Page
from eventsite.registration import tickets
from eventsite.registration.models import Registration
from eventsite.timeutil import utcnow


def _badge(registration: Registration) -> badges.Badge:
    person = registration.user
    return badges.Badge(
        name=unicodedata.normalize("NFC", person.name),
        affiliation=unicodedata.normalize("NFC", person.affiliation),
        country=templating.country_name(person.country),
        qr_value=tickets.ticket_value(registration),
        code=tickets.display_code(registration),
    )


@bp.route("/events/<int:event_id>/badges", methods=["GET", "POST"], endpoint="badges")
def badges_page(event_id: int) -> Page:
    """GET: the sheet to print on and who gets a badge. POST: the PDF, one badge for each
    confirmed registrant (of those ticked, when people were ticked), sorted by name."""
    event = access.load_event(event_id)
    form = registrant_forms.BadgesForm()
    if request.method == "GET" and "ids" in request.args:  # from the table's bulk action
        form.ids.process_formdata(request.args.getlist("ids"))
    ids = form.ids.data or None  # a selection that is not one is refused on POST
    people = tickets.with_valid_tickets(event, ids)
    if form.validate_on_submit():
        if people:
            return _download(event, form.layout.data, people, selected=ids is not None)
        form.ids.errors.append(
            _("None of the selected people has a confirmed place.")
            if ids
            else _("Nobody has a confirmed place yet: there is no badge to print.")
        )
    status = 400 if form.layout.errors else 422 if form.errors else 200
    return render_template(
        "organiser/badges.html",
        event=event,
        form=form,
        count=len(people),
        selected=ids,
    ), status


def _download(event: Event, layout: str, people: list[Registration], *, selected: bool) -> Response:
    people.sort(key=lambda r: (templating.collation_key(r.user.name), r.id))
    pdf = badges.build_pdf(event.title, [_badge(r) for r in people], badges.LAYOUTS[layout])
    audit.record_for_event(
        event, "badges", utcnow(), layout=layout, badges=len(people), selected=selected
    )
    filename = f"{event.slug}-badges-{layout}.pdf"
    db.session.commit()
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
