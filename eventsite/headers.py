"""Response headers written straight into the header list: every page's after-request work
adds to `Vary` (the language, the encoding) and sets the security headers, and Werkzeug's
`response.vary` parses the header into a set and writes it back on each use (with the
security headers' `setdefault`, ~3 % of a rendered page's time in a gunicorn worker:
py-spy under `make bench`'s wrk load)."""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.datastructures import Headers


def add_vary(headers: Headers, *names: str) -> None:
    """`response.vary.add(name)` for each name: the ones `Vary` does not list yet, added."""
    current = headers.get("Vary")
    if not current:
        headers["Vary"] = ", ".join(names)
        return
    listed = {value.strip().lower() for value in current.split(",")}
    missing = [name for name in names if name.lower() not in listed]
    if missing:
        headers["Vary"] = ", ".join([current, *missing])


def set_defaults(headers: Headers, values: Iterable[tuple[str, str]]) -> None:
    """`headers.setdefault(name, value)` for each: the ones not set already, added."""
    present = {name.lower() for name, _ in headers.items()}
    for name, value in values:
        if name.lower() not in present:
            headers.add(name, value)
