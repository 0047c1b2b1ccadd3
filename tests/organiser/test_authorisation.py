"""THE authorisation test: every /manage route, every method, every kind of person.

Routes are found by introspecting the URL map, so a route added later is covered
without touching this file; its URL is built with the ids of objects of organisation X.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import OrganisationInvitation

# Routes that are not organisation-scoped: they decide differently on purpose.
GLOBAL_ROUTES = {"organiser.index"}  # lists whatever the person may manage
ADMIN_ONLY = {"organiser.new_organisation"}
# Checked on their own below: the invitation link (the secret in it
# is the key; any logged-in person may hold it).
EXEMPT = {"organiser.accept_invitation"}

ROLES = ("anonymous", "attendee", "other_member", "member", "admin")
ALLOWED_AFTER_POST = {200, 302, 303, 422}


def organiser_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) for every organiser route and method."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("organiser.") or rule.endpoint in EXEMPT:
            continue
        for method in sorted(rule.methods & {"GET", "POST"}):
            routes.append((rule.endpoint, rule.rule, method))
    return routes


def build_url(app: Flask, endpoint: str, values: dict[str, Any]) -> str:
    rule = next(r for r in app.url_map.iter_rules(endpoint))
    missing = rule.arguments - values.keys()
    assert not missing, f"the walk does not know how to fill {missing} of {rule.rule}"
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **{k: values[k] for k in rule.arguments})


def expected(role: str, endpoint: str, method: str) -> set[int] | str:
    if role == "anonymous":
        return "login"
    if role == "attendee":
        return {403}
    if endpoint in ADMIN_ONLY and role != "admin":
        return {403}
    if endpoint in GLOBAL_ROUTES and role == "other_member":
        return {200}
    if role == "other_member":
        return {403}
    return {200} if method == "GET" else ALLOWED_AFTER_POST


def url_values(world) -> dict[str, Any]:
    """The world's ids, plus an invitation of its organisation."""
    invitation = db.session.scalar(
        select(OrganisationInvitation).filter_by(organisation_id=world.organisation.id)
    )
    if invitation is None:
        invitation = OrganisationInvitation(
            organisation=world.organisation,
            email=f"invitee-{world.organisation.id}@example.org",
            token_hash=f"{world.organisation.id:064d}",
        )
        db.session.add(invitation)
        db.session.commit()
    return world.url_values() | {"invitation_id": invitation.id}


def login_as(client, world, role: str) -> None:
    # Requests share the test's app context, where Flask-Login caches the user in `g`.
    g.pop("_login_user", None)
    with client.session_transaction() as session:
        session.clear()
        if role != "anonymous":
            user = getattr(world, role)
            session["_user_id"] = user.get_id()
            session["_fresh"] = True


def test_the_walk_covers_the_workspace(app: Flask) -> None:
    endpoints = {endpoint for endpoint, _rule, _method in organiser_routes(app)}
    # A sanity check that introspection finds the main routes.
    assert {
        "organiser.index",
        "organiser.edit_event",
        "organiser.agenda",
        "organiser.badges",
    } <= endpoints
    assert len(endpoints) >= 15


@pytest.mark.parametrize("role", ROLES)
def test_every_manage_route_answers_each_role_as_it_should(app, client, make_world, role):
    world = make_world()
    problems = []
    for endpoint, _rule, method in organiser_routes(app):
        if method == "POST" and role in ("member", "admin"):
            # A successful POST may change things (remove a session, cancel the event):
            # every allowed POST gets a fresh world so the next one finds its objects.
            world = make_world()
        login_as(client, world, role)
        url = build_url(app, endpoint, url_values(world))
        response = client.get(url) if method == "GET" else client.post(url, data={})
        response.get_data()  # run streamed bodies (exports) to the end
        response.close()
        want = expected(role, endpoint, method)
        if want == "login":
            ok = response.status_code in (302, 303) and "/login" in response.headers.get(
                "Location", ""
            )
        else:
            ok = response.status_code in want
        if not ok:
            problems.append(f"{method} {url} as {role}: {response.status_code}, wanted {want}")
    assert not problems, "\n".join(problems)


def test_ids_of_another_organisation_lead_nowhere(app, client, world, login) -> None:
    login(world.member)
    # Another organisation's event, by id: refused.
    assert client.get(f"/manage/events/{world.other_event.id}").status_code == 403
    assert client.get(f"/manage/events/{world.other_event.id}/edit").status_code == 403
    assert client.get(f"/manage/organisations/{world.other_organisation.id}").status_code == 403
    # Another organisation's session or registration under our own event: not found.
    assert (
        client.get(f"/manage/events/{world.event.id}/sessions/{world.other_session.id}").status_code
        == 404
    )
    response = client.post(
        f"/manage/events/{world.event.id}/sessions/{world.other_session.id}/remove"
    )
    assert response.status_code == 404
    # ... and our session under their event: refused before anything is looked up.
    assert (
        client.get(f"/manage/events/{world.other_event.id}/sessions/{world.session.id}").status_code
        == 403
    )
    # Ids that do not exist at all.
    assert client.get("/manage/events/999999").status_code == 404


def test_registrations_of_another_event_lead_nowhere(app, client, world, login) -> None:
    login(world.member)
    registration_routes = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("organiser.") and "registration_id" in rule.arguments
    ]
    for rule in registration_routes:
        url = build_url(
            app,
            rule.endpoint,
            world.url_values() | {"registration_id": world.other_registration.id},
        )
        method = "POST" if "POST" in rule.methods else "GET"
        response = client.open(url, method=method)
        assert response.status_code == 404, f"{method} {url}"


def test_the_logo_is_public_and_the_invitation_needs_a_login(app, client, world) -> None:
    logo = world.organisation.logo_image
    response = client.get(f"/images/{logo.largest['webp']}")
    assert response.status_code == 200
    assert response.mimetype == "image/webp"
    response = client.get("/manage/invitations/some-token")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- the organiser API: every route, every kind of token --------------------------------------

TOKEN_KINDS = ("none", "unknown", "revoked", "expired", "other_organisation", "read", "write")
# Done (a DELETE's 204 has no body), or refused by its input or a rule: never 5xx.
API_WRITE_ALLOWED = {200, 201, 400, 409, 422}


def organiser_api_routes(app: Flask) -> list[tuple[str, str, str]]:
    return [
        (rule.endpoint, rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("organiser_api.")
        for method in sorted(rule.methods & {"GET", "POST", "PATCH", "PUT", "DELETE"})
    ]


def api_token(world, kind: str) -> str | None:
    from datetime import timedelta

    from eventsite.organisations import access_tokens
    from eventsite.timeutil import utcnow

    if kind == "none":
        return None
    if kind == "unknown":
        return "evt_" + "x" * 43
    organisation = world.other_organisation if kind == "other_organisation" else world.organisation
    scope = access_tokens.TokenScope.READ if kind == "read" else access_tokens.TokenScope.WRITE
    token, secret = access_tokens.create_token(
        organisation, name=kind, scope=scope, expires_at=None, created_by=world.member, now=utcnow()
    )
    if kind == "revoked":
        access_tokens.revoke_token(token, utcnow())
    if kind == "expired":
        token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    return secret


def api_expected(kind: str, rule: str, method: str) -> set[int]:
    if kind in ("none", "unknown", "revoked", "expired"):
        return {401}
    if kind == "read" and method != "GET":
        return {403}
    if kind == "other_organisation" and "<int:event_id>" in rule:
        return {403}  # (a list of events lists the token's own organisation's)
    if method == "DELETE":
        return {204}
    return {200} if method == "GET" else API_WRITE_ALLOWED


def test_the_api_walk_covers_the_organiser_api(app: Flask) -> None:
    endpoints = {endpoint for endpoint, _rule, _method in organiser_api_routes(app)}
    assert {
        "organiser_api.events",
        "organiser_api.check_in_ticket",
        "organiser_api.create_event",
        "organiser_api.update_event",
        "organiser_api.create_session",
        "organiser_api.delete_session",
        "organiser_api.reject_registration",
        "organiser_api.undo_check_in",
    } <= endpoints


@pytest.mark.parametrize("kind", TOKEN_KINDS)
def test_every_organiser_api_route_answers_each_token_as_it_should(
    app, client, make_world, kind
) -> None:
    world = make_world()
    problems = []
    for endpoint, rule, method in organiser_api_routes(app):
        if method != "GET" and kind == "write":
            world = make_world()  # an allowed write may change what the next one finds
        secret = api_token(world, kind)
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        url = build_url(app, endpoint, url_values(world))
        response = client.open(url, method=method, headers=headers, json={})
        want = api_expected(kind, rule, method)
        json = response.mimetype == "application/json" or response.status_code == 204
        if response.status_code not in want or not json:
            problems.append(f"{method} {url} with {kind}: {response.status_code}, wanted {want}")
    assert not problems, "\n".join(problems)


def test_a_workspace_login_is_no_api_token(app, client, world, login) -> None:
    """The API reads no session cookie: a logged-in member's browser cannot be made to call it."""
    login(world.member)
    for endpoint, _rule, method in organiser_api_routes(app):
        url = build_url(app, endpoint, url_values(world))
        assert client.open(url, method=method, json={}).status_code == 401, f"{method} {url}"
