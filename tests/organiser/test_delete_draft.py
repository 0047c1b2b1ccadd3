"""Deleting a draft from the workspace: asked first, only for drafts nobody registered for,
recorded in the organisation's history."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from eventsite.extensions import db
from eventsite.models import (
    AgendaSession,
    AuditEntry,
    Event,
    Question,
    QuestionKind,
    Registration,
    RegistrationStatus,
)


def _exists(event_id: int) -> bool:
    db.session.expire_all()
    return db.session.get(Event, event_id) is not None


def _count(model: type[AgendaSession] | type[Question], event_id: int) -> int:
    stmt = select(func.count()).select_from(model).where(model.event_id == event_id)
    return db.session.scalar(stmt)


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def full_draft(world, make_session):
    """The world's draft with an agenda session and a question."""
    draft = world.draft
    draft.title = "Draft Forum"
    make_session(draft, title="Draft opening")
    db.session.add(Question(event=draft, label="Diet", kind=QuestionKind.SHORT_TEXT, position=0))
    db.session.commit()
    return world


@pytest.mark.usefixtures("csrf_enabled")
def test_a_member_deletes_a_draft_after_confirming(app, client, login, full_draft) -> None:
    world = full_draft
    draft_id = world.draft.id
    login(world.member)
    page = client.get(f"/manage/events/{draft_id}").get_data(as_text=True)
    assert f'href="/manage/events/{draft_id}/delete"' in page
    assert "Delete the draft…" in page

    confirm = client.get(f"/manage/events/{draft_id}/delete")
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert "This cannot be undone." in html
    assert "1 agenda session" in html and "1 question on the registration form" in html
    assert "Delete the draft</button>" in html or 'value="Delete the draft"' in html
    assert _exists(draft_id)  # asking changes nothing

    # Without the form's CSRF token: refused, nothing deleted.
    assert client.post(f"/manage/events/{draft_id}/delete").status_code == 400
    assert _exists(draft_id)

    response = client.post(
        f"/manage/events/{draft_id}/delete", data={"csrf_token": _csrf_token(html)}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/manage/organisations/{world.organisation.id}"
    assert not _exists(draft_id)
    # The agenda and the form went with it.
    assert _count(AgendaSession, draft_id) == _count(Question, draft_id) == 0
    # Who deleted what stays in the organisation's history.
    [entry] = _entries("delete_draft")
    assert entry.actor_id == world.member.id
    assert entry.organisation_id == world.organisation.id
    assert entry.event_id is None
    assert entry.details == {"title": "Draft Forum", "slug": world.draft.slug}
    organisation_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The draft “Draft Forum” is deleted." in organisation_page
    history = organisation_page[organisation_page.index('class="audit-log"') :]
    assert world.member.name in history and "delete draft" in history
    assert "Draft Forum" in history
    # The workspace list no longer shows it, and its address is gone.
    assert "Draft Forum" not in client.get("/manage/").get_data(as_text=True)
    assert client.get(f"/manage/events/{draft_id}").status_code == 404


def test_a_published_event_cannot_be_deleted(client, as_member) -> None:
    event = as_member.event
    page = client.get(f"/manage/events/{event.id}").get_data(as_text=True)
    assert f"/manage/events/{event.id}/delete" not in page
    confirm = client.get(f"/manage/events/{event.id}/delete")
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert "Only a draft can be deleted; a published event can be cancelled instead." in html
    assert "Delete the draft</button>" not in html and 'value="Delete the draft"' not in html
    response = client.post(f"/manage/events/{event.id}/delete")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/manage/events/{event.id}"
    assert _exists(event.id)
    assert _entries("delete_draft") == []
    message = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Only a draft can be deleted" in message


def test_a_draft_with_registrations_cannot_be_deleted(client, as_member) -> None:
    draft = as_member.draft
    db.session.add(
        Registration(
            event=draft, user=as_member.attendee, status=RegistrationStatus.CANCELLED, answers={}
        )
    )
    db.session.commit()
    html = client.get(f"/manage/events/{draft.id}/delete").get_data(as_text=True)
    assert "People have registered for this draft, so it cannot be deleted." in html
    response = client.post(f"/manage/events/{draft.id}/delete")
    assert response.status_code == 302
    assert _exists(draft.id)
    assert _entries("delete_draft") == []


def test_a_cancelled_event_cannot_be_deleted(client, as_member) -> None:
    event = as_member.event
    event.status = "cancelled"
    event.cancellation_reason = "Storm"
    db.session.commit()
    client.post(f"/manage/events/{event.id}/delete")
    assert _exists(event.id)


def test_only_members_of_the_organisation_may_delete_its_draft(client, login, world) -> None:
    draft_id = world.draft.id
    for person in (world.other_member, world.attendee):
        login(person)
        assert client.get(f"/manage/events/{draft_id}/delete").status_code == 403
        assert client.post(f"/manage/events/{draft_id}/delete").status_code == 403
        assert _exists(draft_id)
    login(world.admin)
    assert client.post(f"/manage/events/{draft_id}/delete").status_code == 302
    assert not _exists(draft_id)


def test_cancelling_a_draft_points_to_deleting_it(client, as_member) -> None:
    draft = as_member.draft
    response = client.post(f"/manage/events/{draft.id}/cancel", data={"reason": "No longer"})
    html = response.get_data(as_text=True)
    assert "Only a published event can be cancelled; delete a draft instead." in html
    assert _exists(draft.id)
    page = client.get(f"/manage/events/{draft.id}").get_data(as_text=True)
    assert f"/manage/events/{draft.id}/delete" in page
