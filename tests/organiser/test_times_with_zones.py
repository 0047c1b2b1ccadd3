"""Every time a person reads says its zone: the event's own for event-related moments, in
one Babel format ("14 Mar 2027, 09:00 EAT"), on the registration pages, "My events", the
workspace's tables and history, and the emails; and no template formats a time by hand."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eventsite.extensions import db
from eventsite.models import AuditEntry, Registration, RegistrationStatus
from eventsite.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("smtp_sink")

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# Nairobi keeps East Africa Time all year: the labels below never depend on the season.
HOURS = "09:00 – 17:00 EAT"
MOMENT = r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} EAT"  # "14 Mar 2027, 09:00 EAT"


@pytest.fixture
def nairobi(world, make_event):
    day = (utcnow() + timedelta(days=40)).replace(hour=6, minute=0, second=0, microsecond=0)
    return make_event(
        organisation=world.organisation,
        slug="soil-summit",
        title="Soil Summit",
        timezone="Africa/Nairobi",
        starts_at=day,  # 09:00 in Nairobi
        ends_at=day + timedelta(hours=8),
        registration_opens_at=utcnow() - timedelta(days=1),
        city="Nairobi",
        country="KE",
    )


def test_registering_shows_the_event_hours_and_the_registration_time_with_zone(
    client, login, make_user, nairobi, mailbox
) -> None:
    person = make_user(name="Wanjiru")
    login(person)
    form = client.get(f"/events/{nairobi.slug}/register").get_data(as_text=True)
    assert HOURS in form

    response = client.post(f"/events/{nairobi.slug}/register", data={})
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert HOURS in detail
    assert re.search(rf"Registered on</dt><dd>{MOMENT}</dd>", detail), detail

    [confirmation] = mailbox()
    for kind in ("plain", "html"):
        assert HOURS in confirmation.message.get_body(preferencelist=(kind,)).get_content()

    account = client.get("/account/").get_data(as_text=True)
    my_events = account[account.index('id="my-events-title"') :]
    assert "Soil Summit" in my_events and HOURS in my_events


def test_workspace_tables_and_history_say_the_zone(client, as_member, make_user, nairobi) -> None:
    person = make_user(name="Amani")
    registered = datetime(2027, 1, 10, 7, 30, tzinfo=UTC)
    checked_in = datetime(2027, 1, 11, 5, 0, tzinfo=UTC)
    db.session.add_all(
        [
            Registration(
                event=nairobi, user=person, status=RegistrationStatus.CONFIRMED, answers={},
                created_at=registered, checked_in_at=checked_in,
            ),
            AuditEntry(
                organisation_id=nairobi.organisation_id, event_id=nairobi.id,
                actor_id=as_member.member.id, action="event_edit", details={},
                created_at=datetime(2027, 1, 12, 12, 15, tzinfo=UTC),
            ),
        ]
    )  # fmt: skip
    db.session.commit()

    events = client.get("/manage/").get_data(as_text=True)
    row = events[events.index("Soil Summit") :]
    assert HOURS in row[: row.index("</tr>")]

    table = client.get(f"/manage/events/{nairobi.id}/registrants").get_data(as_text=True)
    row = table[table.index("Amani") :]
    row = row[: row.index("</tr>")]
    assert "10/01/2027, 10:30 EAT" in row  # registered
    assert "11/01/2027, 08:00 EAT" in row  # checked in

    history = client.get(f"/manage/events/{nairobi.id}").get_data(as_text=True)
    assert "12/01/2027, 15:15 EAT" in history


def test_the_workspace_agenda_and_statistics_use_the_shared_formats(
    client, as_member, make_session, nairobi
) -> None:
    make_session(
        nairobi, title="Opening", starts_at=nairobi.starts_at,
        ends_at=nairobi.starts_at + timedelta(minutes=90),
    )  # fmt: skip
    agenda = client.get(f"/manage/events/{nairobi.id}/agenda").get_data(as_text=True)
    assert re.search(r"[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4}, 09:00 – 10:30 EAT", agenda)

    db.session.add(
        Registration(
            event=nairobi, user=as_member.attendee, status=RegistrationStatus.CONFIRMED,
            answers={}, created_at=datetime(2027, 2, 3, 22, 0, tzinfo=UTC),  # 4 Feb in Nairobi
        )
    )  # fmt: skip
    db.session.commit()
    stats = client.get(f"/manage/events/{nairobi.id}/statistics").get_data(as_text=True)
    assert "<td>4 Feb 2027</td>" in stats and ">4 Feb</text>" in stats


# Raw formatting in a template: strftime/isoformat/Babel calls, or a moment printed bare.
RAW_FORMATTING = re.compile(
    r"strftime|isoformat|format_datetime|format_date|format_time|\.hour\b|\.minute\b"
    r"|\{\{[^}|]*_at\s*\}\}"
)


def test_no_template_formats_a_time_by_hand() -> None:
    """Times go through the filters in eventsite/templating.py (local_datetime, local_date,
    local_time with zone_label, event_dates/event_times, utc_iso for machines)."""
    found = [
        f"{path.relative_to(TEMPLATES)}:{n}: {line.strip()}"
        for path in sorted(TEMPLATES.rglob("*.*"))
        if path.suffix in (".html", ".txt", ".xml", ".ics")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if RAW_FORMATTING.search(line)
    ]
    assert found == []
