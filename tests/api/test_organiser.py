"""The organiser API with personal access tokens: what each token may do, the same rules
and audit log as the workspace, and bad input refused with nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import AuditEntry, EventStatus, RegistrationStatus
from eventsite.organisations import access_tokens
from eventsite.organisations.access_tokens import AccessToken, TokenScope
from eventsite.registration import tickets
from eventsite.timeutil import utcnow

from .conftest import auth


def test_lists_the_organisations_events_drafts_too(client, make_event, organisation, make_token):
    draft = make_event(organisation=organisation, status=EventStatus.DRAFT)
    make_event()  # another organisation's

    body = client.get("/api/v1/organiser/events", headers=auth(make_token())).get_json()

    assert [e["slug"] for e in body["items"]] == [draft.slug]
    assert body["items"][0]["status"] == "draft"
    assert body["items"][0]["id"] == draft.id


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Send a personal access token"),
        ({"Authorization": "Basic abc"}, "Send a personal access token"),
        ({"Authorization": "Bearer evt_not-a-token"}, "not valid"),
        ({"Authorization": "Bearer " + "x" * 5000}, "not valid"),
    ],
)
def test_missing_or_unknown_token_is_a_json_401(client, headers, message) -> None:
    response = client.get("/api/v1/organiser/events", headers=headers)

    assert response.status_code == 401
    assert message in response.get_json()["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_and_expired_tokens_are_401(client, make_token) -> None:
    revoked = make_token()
    expired = make_token(expires_at=utcnow() + timedelta(seconds=1))
    token = db.session.scalar(
        select(AccessToken).where(AccessToken.token_hash == access_tokens.hash_secret(revoked))
    )
    access_tokens.revoke_token(token, utcnow())
    old = db.session.scalar(
        select(AccessToken).where(AccessToken.token_hash == access_tokens.hash_secret(expired))
    )
    old.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    first = client.get("/api/v1/organiser/events", headers=auth(revoked))
    second = client.get("/api/v1/organiser/events", headers=auth(expired))

    assert (first.status_code, second.status_code) == (401, 401)
    assert first.get_json()["message"] == "This access token has been revoked."
    assert second.get_json()["message"] == "This access token has expired."


def test_token_is_stored_hashed_and_its_last_use_noted(client, make_token) -> None:
    secret = make_token()
    token = db.session.scalar(select(AccessToken))
    assert secret not in str(
        db.session.execute(select(AccessToken.__table__)).all()
    )  # only the hash and a short hint
    assert token.token_hash == access_tokens.hash_secret(secret)
    assert token.last_used_at is None

    client.get("/api/v1/organiser/events", headers=auth(secret))

    db.session.expire_all()
    assert db.session.get(AccessToken, token.id).last_used_at is not None


def test_another_organisations_event_is_403(client, make_event, make_token) -> None:
    other = make_event(status=EventStatus.DRAFT)

    get = client.get(f"/api/v1/organiser/events/{other.id}", headers=auth(make_token()))
    publish = client.post(
        f"/api/v1/organiser/events/{other.id}/publish", headers=auth(make_token())
    )

    assert (get.status_code, publish.status_code) == (403, 403)
    assert get.get_json()["message"] == "This token belongs to another organisation."
    db.session.refresh(other)
    assert other.status == EventStatus.DRAFT


def test_a_read_token_may_not_write(client, make_event, organisation, make_token) -> None:
    draft = make_event(organisation=organisation, status=EventStatus.DRAFT)

    response = client.post(
        f"/api/v1/organiser/events/{draft.id}/publish", headers=auth(make_token(TokenScope.READ))
    )

    assert response.status_code == 403
    assert "only read" in response.get_json()["message"]
    db.session.refresh(draft)
    assert draft.status == EventStatus.DRAFT


def test_publish_then_cancel_through_the_services_into_the_audit_log(
    client, make_event, organisation, member, make_token
) -> None:
    draft = make_event(organisation=organisation, status=EventStatus.DRAFT)
    headers = auth(make_token(name="Sync job"))

    published = client.post(f"/api/v1/organiser/events/{draft.id}/publish", headers=headers)
    again = client.post(f"/api/v1/organiser/events/{draft.id}/publish", headers=headers)
    no_reason = client.post(
        f"/api/v1/organiser/events/{draft.id}/cancel", headers=headers, json={"reason": "   "}
    )
    cancelled = client.post(
        f"/api/v1/organiser/events/{draft.id}/cancel", headers=headers, json={"reason": "Storm"}
    )

    assert published.status_code == 200
    assert published.get_json()["status"] == "published"
    assert again.status_code == 409
    assert again.get_json()["message"] == (
        "Only a draft can be published; this event is already public."
    )
    assert no_reason.status_code == 409
    assert cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["cancellation_reason"] == "Storm"
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor_id, e.details.get("token")) for e in entries] == [
        ("publish", member.id, "Sync job"),
        ("cancel", member.id, "Sync job"),
    ]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ({"reason": "Storm", "extra": 1}, None),
        ({"reason": 42}, None),
        ({}, None),
        ("not json at all", "text/plain"),
        ("{broken", "application/json"),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(
    client, make_event, organisation, make_token, body, content_type
) -> None:
    event = make_event(organisation=organisation)
    kwargs = {"json": body} if content_type is None else {"data": body}
    headers = auth(make_token())
    if content_type:
        headers["Content-Type"] = content_type

    response = client.post(f"/api/v1/organiser/events/{event.id}/cancel", headers=headers, **kwargs)

    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert response.get_json()["message"]
    db.session.refresh(event)
    assert event.status == EventStatus.PUBLISHED


def test_too_large_body_is_a_json_413(app, client, make_event, organisation, make_token) -> None:
    event = make_event(organisation=organisation)

    response = client.post(
        f"/api/v1/organiser/events/{event.id}/cancel",
        headers=auth(make_token()),
        json={"reason": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)},
    )

    assert response.status_code == 413
    assert response.get_json()["code"] == 413


def test_registrations_with_answers_filtered_and_paged(
    client, make_event, organisation, make_user, make_registration, make_token
) -> None:
    event = make_event(organisation=organisation)
    ada = make_registration(make_user(name="Ada Lovelace"), event)
    ada.answers = {"7": {"label": "Diet", "kind": "single_choice", "value": "Vegan"}}
    db.session.commit()
    make_registration(make_user(name="Bob Example"), event, status=RegistrationStatus.PENDING)
    headers = auth(make_token(TokenScope.READ))

    everyone = client.get(
        f"/api/v1/organiser/events/{event.id}/registrations?per_page=1", headers=headers
    ).get_json()
    pending = client.get(
        f"/api/v1/organiser/events/{event.id}/registrations?status=pending", headers=headers
    ).get_json()
    found = client.get(
        f"/api/v1/organiser/events/{event.id}/registrations?q=lovelace", headers=headers
    ).get_json()

    assert everyone["total"] == 2
    assert len(everyone["items"]) == 1
    assert "page=2" in everyone["next"]
    assert [r["name"] for r in pending["items"]] == ["Bob Example"]
    assert found["items"][0]["answers"] == [
        {"question_id": 7, "label": "Diet", "kind": "single_choice", "value": "Vegan"}
    ]
    assert found["items"][0]["email"] == ada.user.email


def test_registration_list_runs_a_fixed_number_of_queries(
    client, make_event, organisation, make_user, make_registration, make_token, count_queries
) -> None:
    event = make_event(organisation=organisation)
    make_registration(make_user(), event)
    headers = auth(make_token(TokenScope.READ))
    url = f"/api/v1/organiser/events/{event.id}/registrations"
    client.get(url, headers=headers)
    with count_queries() as few:
        client.get(url, headers=headers)
    for _ in range(10):
        make_registration(make_user(), event)
    with count_queries() as many:
        assert len(client.get(url, headers=headers).get_json()["items"]) == 11

    assert many.count == few.count


def test_approve_cancel_and_check_in(
    client, make_event, organisation, make_user, make_registration, make_token
) -> None:
    event = make_event(organisation=organisation, requires_approval=True, capacity=5)
    pending = make_registration(make_user(), event, status=RegistrationStatus.PENDING)
    confirmed = make_registration(make_user(), event)
    headers = auth(make_token())
    base = f"/api/v1/organiser/events/{event.id}/registrations"

    approved = client.post(f"{base}/{pending.id}/approve", headers=headers)
    twice = client.post(f"{base}/{pending.id}/approve", headers=headers)
    checked = client.post(f"{base}/{confirmed.id}/check-in", headers=headers)
    cancelled = client.post(
        f"{base}/{confirmed.id}/cancel", headers=headers, json={"reason": "Duplicate"}
    )

    assert approved.status_code == 200
    assert approved.get_json()["status"] == "confirmed"
    assert twice.status_code == 409
    assert checked.get_json()["checked_in_at"] is not None
    assert cancelled.get_json()["status"] == "cancelled"
    assert client.post(f"{base}/999999/approve", headers=headers).status_code == 404


def test_door_app_checks_in_by_ticket_and_refuses_a_bad_one(
    client, make_event, organisation, member, make_user, make_registration, make_token
) -> None:
    event = make_event(organisation=organisation)
    other_event = make_event(organisation=organisation)
    registration = make_registration(make_user(), event)
    stranger = make_registration(make_user(), other_event)
    headers = auth(make_token())
    url = f"/api/v1/organiser/events/{event.id}/check-in"

    scanned = client.post(url, headers=headers, json={"ticket": tickets.ticket_value(registration)})
    wrong = client.post(url, headers=headers, json={"ticket": tickets.display_code(stranger)})
    forged = client.post(url, headers=headers, json={"ticket": "ABCD.forged"})

    assert scanned.status_code == 200
    assert scanned.get_json()["id"] == registration.id
    assert scanned.get_json()["checked_in_at"] is not None
    db.session.refresh(registration)
    assert registration.checked_in_by_id == member.id  # door mode shows "by" the token's maker
    assert wrong.status_code == 409
    assert wrong.get_json()["message"] == "This ticket is for another event."
    assert forged.status_code == 409
    db.session.refresh(stranger)
    assert stranger.checked_in_at is None


def test_the_organiser_api_needs_no_csrf_token(app, client, make_event, organisation, make_token):
    app.config["WTF_CSRF_ENABLED"] = True
    draft = make_event(organisation=organisation, status=EventStatus.DRAFT)

    response = client.post(
        f"/api/v1/organiser/events/{draft.id}/publish", headers=auth(make_token())
    )

    assert response.status_code == 200
