"""Which addresses a message may go to (`mail.check_recipient`): one address that the
email header parser reads cleanly. Plain addresses are answered without the parser; the
answer must be the parser's."""

from __future__ import annotations

from email.policy import default as default_policy

import pytest

from eventsite.mail import mime
from eventsite.mail import services as mail

PLAIN = [
    "amina.diallo@example.org",
    "k.sato+forum2027@univ-tokyo.example.jp",
    "o'neill@example.ie",
    "x@y",
    "a!#$%&'*/=?^_`{|}~-b@sub-domain.example",
]
NOT_PLAIN = [
    "josé@example.es",  # internationalised local part: the parser's call (accepted)
    '"quoted name"@example.org',
    "a..b@example.org",
    ".a@example.org",
    "a.@example.org",
    "a@example..org",
    "a@[127.0.0.1]",
    "a@@example.org",
    "a@exa(comment)mple.org",
]


def _parser_reads_one_clean_address(value: str) -> bool:
    header = default_policy.header_factory("To", value)
    return (
        len(header.addresses) == 1 and header.addresses[0].addr_spec == value and not header.defects
    )


@pytest.mark.parametrize("address", PLAIN)
def test_a_plain_address_is_what_the_parser_reads_cleanly(address: str) -> None:
    assert mime._PLAIN_ADDRESS.fullmatch(address)
    assert _parser_reads_one_clean_address(address)
    assert mail.check_recipient(f"  {address} ") == address


@pytest.mark.parametrize("address", NOT_PLAIN)
def test_anything_else_is_left_to_the_parser(address: str) -> None:
    assert not mime._PLAIN_ADDRESS.fullmatch(address)
    verdict = mime._parses_cleanly.__wrapped__(address, True)
    if address.startswith("josé"):
        assert verdict  # SMTPUTF8 local parts are sent
    elif address.startswith(("a..b", ".a", "a.@", "a@example..org", "a@@")):
        assert not verdict
        with pytest.raises(ValueError):
            mail.check_recipient(address)
