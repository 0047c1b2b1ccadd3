"""Organisation rules as every caller sees them (workspace, command line, account pages),
and the receivers through which accounts, below, reach them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from eventsite.accounts import profile
from eventsite.extensions import db
from eventsite.models import (
    AuditEntry,
    EventStatus,
    JoinedVia,
    Membership,
    Registration,
    RegistrationStatus,
)
from eventsite.organisations import services
from eventsite.timeutil import utcnow

from .. import pictures

PASSWORD = "correct horse battery staple"


def _audit() -> list[tuple[str, int | None, dict]]:
    return [
        (entry.action, entry.actor_id, entry.details)
        for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
    ]


def test_the_only_member_is_held_by_registrations_for_coming_events_only(
    app, make_organisation, make_member, make_user, make_event, make_registration
) -> None:
    """Past events, cancelled events and cancelled registrations need nobody to look
    after them; a registration for a coming event does."""
    organisation = make_organisation()
    member = make_member(organisation)
    event = make_event(organisation=organisation)
    registration = make_registration(make_user(), event)

    after = event.ends_at + timedelta(days=1)
    assert services.remove_member(organisation, member.id, None, after)
    db.session.rollback()

    before = event.starts_at - timedelta(days=1)
    with pytest.raises(services.OrganisationError, match="registered for its coming"):
        services.remove_member(organisation, member.id, None, before)
    db.session.rollback()

    event.status = EventStatus.CANCELLED
    db.session.commit()
    assert services.remove_member(organisation, member.id, None, before)
    db.session.rollback()

    event.status = EventStatus.PUBLISHED
    db.session.get(Registration, registration.id).status = RegistrationStatus.CANCELLED
    db.session.commit()
    assert services.remove_member(organisation, member.id, None, before)


def test_every_change_reaches_the_workspace_audit_log(
    app, make_organisation, make_user, make_member
) -> None:
    organisation = make_organisation(name="Old name")
    actor = make_member(organisation)
    now = utcnow()
    services.update_profile(organisation, {"name": "New name"}, actor, now)
    services.set_logo(organisation, pictures.png(120, 60), "", actor, now)
    services.remove_logo(organisation, actor, now)
    newcomer = make_user(email="newcomer@example.org")
    services.join(organisation, newcomer, actor, now, "member_add", JoinedVia.ADMIN)
    db.session.commit()
    assert _audit() == [
        (
            "organisation_edit",
            actor.id,
            {"changes": {"name": {"old": "Old name", "new": "New name"}}},
        ),
        ("logo_upload", actor.id, {"width": 120, "height": 60}),
        ("logo_remove", actor.id, {}),
        ("member_add", actor.id, {"email": "newcomer@example.org", "user_id": newcomer.id}),
    ]


def test_granting_from_the_command_line_is_audited_without_an_actor(
    runner, make_organisation, make_user
) -> None:
    organisation = make_organisation(slug="gsc")
    user = make_user(email="ada@example.org")
    result = runner.invoke(args=["users", "grant", "ada@example.org", "--organisation", "gsc"])
    assert result.exit_code == 0, result.output
    assert "ada@example.org is now an organiser of gsc." in result.output
    membership = db.session.get(Membership, (user.id, organisation.id))
    assert membership.joined_via == JoinedVia.ADMIN
    assert _audit() == [("member_add", None, {"email": "ada@example.org", "user_id": user.id})]

    result = runner.invoke(args=["users", "grant", "ada@example.org", "--organisation", "nope"])
    assert result.exit_code != 0
    assert "No organisation has the slug nope." in result.output


def test_deleting_an_account_is_refused_before_anything_is_cancelled(
    app, make_organisation, make_member, make_event, make_registration
) -> None:
    """The only member of an organisation whose coming event has a registrant (the member
    themselves) may not go; and their registration is still there: every package is asked
    before any removes what it holds."""
    organisation = make_organisation(name="Solo Society")
    member = make_member(organisation)
    event = make_event(organisation=organisation)
    registration = make_registration(member, event)
    with pytest.raises(services.OrganisationError, match="only member of Solo Society"):
        profile.delete_account(member, password=PASSWORD, now=event.starts_at - timedelta(days=1))
    assert db.session.get(Registration, registration.id).status == RegistrationStatus.CONFIRMED
    db.session.rollback()
    assert db.session.get(Membership, (member.id, organisation.id)) is not None


def test_a_deleted_account_leaves_its_organisations_and_frees_its_places(
    app, make_organisation, make_member, make_user, make_event, make_registration
) -> None:
    organisation = make_organisation()
    member = make_member(organisation)
    make_member(organisation)  # someone stays to look after the registrants
    event = make_event(organisation=organisation, capacity=1)
    make_registration(member, event)
    waiting = make_registration(make_user(), event, RegistrationStatus.WAITLISTED)
    member_id = member.id
    profile.delete_account(member, password=PASSWORD, now=utcnow())
    db.session.commit()
    assert db.session.scalars(select(Membership).where(Membership.user_id == member_id)).all() == []
    assert db.session.get(Registration, waiting.id).status == RegistrationStatus.CONFIRMED


def test_the_data_export_has_a_section_from_each_package_that_holds_something(
    app, make_organisation, make_member, make_event, make_registration
) -> None:
    organisation = make_organisation(name="Science Org", slug="science-org")
    member = make_member(organisation)
    event = make_event(title="Forum on Soil", slug="forum-on-soil")
    make_registration(member, event)
    data = profile.export_user_data(member)
    assert list(data) == ["account", "organisations", "registrations"]
    assert data["account"]["roles"] == ["attendee", "organiser"]
    assert data["organisations"] == [{"name": "Science Org", "slug": "science-org"}]
    [registration] = data["registrations"]
    assert (registration["event"], registration["status"]) == ("Forum on Soil", "confirmed")


def test_a_fresh_app_connects_every_receiver_the_lower_packages_rely_on() -> None:
    """Whatever runs the app (a web worker, `flask users grant`, `flask demo load`),
    create_app has connected the receivers: an account going away always reaches
    organisations and registration, and every organisation change reaches the audit log."""
    script = """
import json
from eventsite import create_app, signals
create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
names = ["account_deletion_requested", "account_deleting", "personal_data_requested",
         "organisation_changed", "members_leaving_alone"]
print(json.dumps({name: sorted(f"{r.__module__}.{r.__name__}"
                               for r in getattr(signals, name).receivers_for(None))
                  for name in names}))
"""
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(output.strip().splitlines()[-1]) == {
        "account_deletion_requested": [
            "eventsite.organisations.receivers.refuse_to_leave_organisations_stranded"
        ],
        "account_deleting": [
            "eventsite.registration.receivers.cancel_registrations_of_deleted_account"
        ],
        "personal_data_requested": [
            "eventsite.organisations.receivers.organisations_of",
            "eventsite.registration.receivers.registrations_of",
        ],
        "organisation_changed": ["eventsite.organiser.audit.record_organisation_change"],
        "members_leaving_alone": [
            "eventsite.registration.receivers.organisations_with_coming_registrations"
        ],
    }
