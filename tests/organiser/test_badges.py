"""Name badges: the PDF read back (pages, text in Chinese and Arabic, order by name), who
gets one (confirmed people only, the selection), the QR code on a badge decoded and found
at the door, and refusals (other organisations, a sheet that does not exist)."""

from __future__ import annotations

import io
import math
import re
import unicodedata
from datetime import timedelta

import pypdf
import pypdfium2
import pytest
import zxingcpp
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import AuditEntry, Registration, RegistrationStatus
from eventsite.organiser import badges
from eventsite.registration import tickets
from eventsite.timeutil import utcnow


def _url(event) -> str:
    return f"/manage/events/{event.id}/badges"


def _pages(data: bytes) -> list[str]:
    """The text of each page as pypdf reads it, NFKC-normalised (Arabic may come out as
    presentation forms), without the NULs pypdf puts between CJK characters of a CFF font.
    (PDFium reads CJK cleanly but turns the Arabic ligature of "لى" round.)"""
    reader = pypdf.PdfReader(io.BytesIO(data))
    return [
        unicodedata.normalize("NFKC", page.extract_text()).replace("\x00", "")
        for page in reader.pages
    ]


def _pdf_text(data: bytes) -> tuple[int, str]:
    """Page count and all text without whitespace (lines break where the badge wraps)."""
    pages = _pages(data)
    return len(pages), re.sub(r"\s+", "", "".join(pages))


@pytest.fixture
def people(world, make_user, make_registration):
    """Confirmed registrants of the world's event, and people who must get no badge."""

    def register(name: str, status=RegistrationStatus.CONFIRMED, **user) -> Registration:
        return make_registration(make_user(name=name, **user), world.event, status)

    confirmed = [
        register("王小明", affiliation="北京大学", country="CN"),
        register("ليلى حسن", affiliation="جامعة القاهرة", country="EG"),
        register("Zoë Adams", affiliation="Tate Modern", country="GB"),
        register("Émile Zola", affiliation="Académie", country="FR"),
        register("Ana Álvarez", affiliation="جامعة القاهرة", country="ES"),
    ]
    others = [
        register("Wanda Waitlisted", RegistrationStatus.WAITLISTED),
        register("Carl Cancelled", RegistrationStatus.CANCELLED),
        register("Pat Pending", RegistrationStatus.PENDING),
        register("Rita Rejected", RegistrationStatus.REJECTED),
    ]
    unverified = register("Hugo Held")  # confirmed, but the email address is not yet
    unverified.hold_expires_at = utcnow() + timedelta(hours=12)
    db.session.commit()
    return confirmed, [*others, unverified]


def test_the_pdf_shows_each_confirmed_person_sorted_by_name(client, as_member, people):
    confirmed, others = people
    response = client.post(_url(as_member.event), data={"layout": "a4-2x4"})
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{as_member.event.slug}-badges-a4-2x4.pdf"'
    )
    assert response.headers["Cache-Control"] == "private, no-store"
    pages, text = _pdf_text(response.data)
    assert pages == 1
    # Chinese and Arabic names, affiliations and countries in words (Arabic words are
    # read back in the order they stand on the page, right to left, so one at a time).
    for words in ("王小明", "北京大学", "China", "ليلى", "حسن", "جامعة", "القاهرة", "Egypt"):
        assert words in text, words
    # The event and each ticket's code are on the badges.
    assert as_member.event.title.replace(" ", "") in text
    for registration in confirmed:
        assert tickets.display_code(registration) in text
    for registration in others:
        assert registration.user.name.replace(" ", "") not in text
    # Collated by name: "Émile" among the Es (plain code-point order puts it after "Zoë"),
    # Latin before Arabic before Han.
    order = ["AnaÁlvarez", "ÉmileZola", "ZoëAdams", "ليلى", "王小明"]
    positions = [text.index(name) for name in order]
    assert positions == sorted(positions)
    # A Latin name after an Arabic affiliation is still in its own font (fpdf2 kept the
    # Arabic font once: "Spain" came out as other glyphs).
    assert "Spain" in text and "France" in text


@pytest.mark.parametrize("layout", list(badges.LAYOUTS))
def test_each_layout_puts_its_number_of_badges_on_a_page(
    client, as_member, make_user, make_registration, layout
):
    for n in range(11):
        make_registration(make_user(name=f"Person {n:02d}"), as_member.event)
    response = client.post(_url(as_member.event), data={"layout": layout})
    assert response.status_code == 200
    pages, text = _pdf_text(response.data)
    assert pages == math.ceil(11 / badges.LAYOUTS[layout].per_page)
    assert all(f"Person{n:02d}" in text for n in range(11))
    document = pypdfium2.PdfDocument(response.data)
    width_pt, _height = document[0].get_size()
    document.close()
    assert round(width_pt) == (595 if layout.startswith("a4") else 612)


def test_the_page_counts_the_badges_and_defaults_to_everyone_confirmed(client, as_member, people):
    response = client.get(_url(as_member.event))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "5 badges: one for each person with a confirmed place." in page
    assert 'name="layout"' in page
    assert "A4, 9 badges of 66 × 90 mm (3 × 3)" in page
    assert "Print at actual size (100%)" in page
    # Linked from the event's tabs and the registrants page.
    assert f'href="{_url(as_member.event)}" aria-current="page"' in page
    registrants = client.get(f"/manage/events/{as_member.event.id}/registrants")
    assert "Name badges (PDF)…" in registrants.get_data(as_text=True)
    assert "Print their name badges (PDF)" in registrants.get_data(as_text=True)


def test_long_names_wrap_to_two_lines_before_shrinking(
    client, as_member, make_user, make_registration
):
    long_name = "Maria Concepción de los Ángeles Fernández-Villaverde y Ortega"
    unbroken = "Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaft"
    for name in (long_name, unbroken, "Jo"):
        make_registration(make_user(name=name), as_member.event)
    response = client.post(_url(as_member.event), data={"layout": "a4-3x3"})
    lines = _pages(response.data)[0].splitlines()
    # The long name whole, on two lines; the name without a space cut short with "…".
    assert "Maria Concepción de los Ángeles" in lines or "Maria Concepción de los" in lines
    assert "".join(lines).replace(" ", "").count(long_name.replace(" ", "")) == 1
    # (NFKC reads "…" as "...")
    assert any(line.startswith("Wolfeschlegel") and line.endswith("...") for line in lines)
    assert "Jo" in lines


def test_the_selection_from_the_table_is_respected(client, as_member, people):
    confirmed, others = people
    chosen = [confirmed[0], confirmed[2], others[0]]  # the waitlisted one gets no badge
    response = client.post(
        f"/manage/events/{as_member.event.id}/registrants/bulk",
        data={"action": "badges", "ids": [r.id for r in chosen], "submit": "1"},
    )
    assert response.status_code == 303
    page_url = response.headers["Location"]
    assert page_url.startswith(_url(as_member.event) + "?ids=")
    page = client.get(page_url).get_data(as_text=True)
    assert "2 badges for the people ticked on the registrants table" in page
    assert page.count('type="hidden" name="ids"') == 3
    response = client.post(
        _url(as_member.event), data={"layout": "a4-3x3", "ids": [r.id for r in chosen]}
    )
    assert response.status_code == 200
    _pages, text = _pdf_text(response.data)
    assert "王小明" in text and "ZoëAdams" in text
    assert "ÉmileZola" not in text and "WandaWaitlisted" not in text
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "badges"))
    assert entry.details == {"layout": "a4-3x3", "badges": 2, "selected": True}


def test_a_selection_without_a_confirmed_person_prints_nothing(client, as_member, people):
    _confirmed, others = people
    response = client.post(
        _url(as_member.event), data={"layout": "a4-2x4", "ids": [others[0].id, others[1].id]}
    )
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert "None of the selected people has a confirmed place." in response.get_data(as_text=True)


def test_an_event_without_confirmed_people_has_no_badges(client, as_member):
    response = client.post(_url(as_member.event), data={"layout": "a4-2x4"})
    assert response.status_code == 422
    assert "there is no badge to print" in response.get_data(as_text=True)


@pytest.mark.parametrize("layout", ["a5-1x1", "", "a4-2x4' or 1=1"])
def test_a_sheet_that_does_not_exist_is_refused(client, as_member, people, layout):
    response = client.post(_url(as_member.event), data={"layout": layout})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Choose one of the sheets on the list." in response.get_data(as_text=True)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "badges")) is None


@pytest.mark.parametrize("role", ["other_member", "attendee"])
def test_people_outside_the_organisation_get_no_badges(client, world, login, people, role):
    login(getattr(world, role))
    assert client.get(_url(world.event)).status_code == 403
    response = client.post(_url(world.event), data={"layout": "a4-2x4"})
    assert response.status_code == 403
    assert response.mimetype != "application/pdf"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "badges")) is None


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    response = client.post(_url(world.event), data={"layout": "a4-2x4"})
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_qr_code_on_a_badge_is_the_ticket(client, as_member, people):
    confirmed, _others = people
    response = client.post(_url(as_member.event), data={"layout": "a4-2x4"})
    document = pypdfium2.PdfDocument(response.data)
    image = document[0].render(scale=3).to_pil()
    document.close()
    values = {result.text for result in zxingcpp.read_barcodes(image)}
    assert len(values) == len(confirmed)
    found = {tickets.find_ticket(as_member.event, value).id for value in values}
    assert found == {r.id for r in confirmed}


def test_the_badges_take_the_same_queries_for_five_or_fifty_people(
    client, as_member, make_user, make_registration, count_queries
):
    def statements() -> int:
        with count_queries() as counter:
            assert client.post(_url(as_member.event), data={"layout": "a4-2x4"}).status_code == 200
        return counter.count

    for n in range(5):
        make_registration(make_user(name=f"Early {n}"), as_member.event)
    few = statements()
    for n in range(45):
        make_registration(make_user(name=f"Late {n}"), as_member.event)
    assert statements() == few


def test_a_selection_that_is_not_one_is_refused(client, as_member, people):
    confirmed, _others = people
    page = client.get(_url(as_member.event) + f"?ids={confirmed[0].id}&ids=x")
    assert page.status_code == 200
    assert "1 badge for the people ticked" in page.get_data(as_text=True)
    response = client.post(
        _url(as_member.event), data={"layout": "a4-2x4", "ids": [confirmed[0].id, "x"]}
    )
    assert response.status_code == 422
    assert "The selection is not a list of registrations." in response.get_data(as_text=True)
