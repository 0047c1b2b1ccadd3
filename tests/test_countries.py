"""Every country list offers real countries and territories, by name as readers look them up."""

from __future__ import annotations

import re

from eventsite.events.models import EventFormat

OPTION = re.compile(r'<option value="([A-Z]{2})"[^>]*>([^<]*)</option>')


def _countries(html: str) -> list[tuple[str, str]]:
    return OPTION.findall(html)


def test_signup_countries_have_no_pseudo_or_region_entries(client) -> None:
    options = _countries(client.get("/signup").get_data(as_text=True))
    codes = {code for code, _name in options}
    names = {name for _code, name in options}
    assert {"CH", "KE", "XK", "CI"} <= codes
    assert not codes & {"XA", "XB", "ZZ", "EU", "EZ", "UN", "QO"}
    assert not names & {"Pseudo-Accents", "Pseudo-Bidi", "Unknown Region", "Eurozone"}
    assert not any(name.isdigit() for name in codes)


def test_countries_sort_by_collation_so_cote_divoire_comes_before_croatia(client) -> None:
    names = [name for _code, name in _countries(client.get("/signup").get_data(as_text=True))]
    assert names.index("Côte d’Ivoire") < names.index("Croatia") < names.index("Czechia")
    assert names.index("Åland Islands") < names.index("Albania")


def test_a_stored_legacy_country_code_still_displays(client, login, make_user, make_event) -> None:
    event = make_event(format=EventFormat.IN_PERSON, city="Brussels", country="EU")
    page = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert "Brussels, European Union" in page

    user = make_user(country="EU")
    login(user)
    account = client.get("/account/settings").get_data(as_text=True)
    assert '<option selected value="EU">European Union</option>' in account
