"""Registration POSTs in one process, for `bench_instructions`: `python -m
bench.registration_loop <prepared.json> <count>` posts the first `count` of the prepared
accounts' registrations through Flask's test client (no server, no load), each answered
with the redirect a registration gets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import harness
from bench.bench_registration import USER_AGENT


def main(prepared_path: str, count: int) -> None:
    from eventsite import create_app

    prepared = json.loads(Path(prepared_path).read_text())
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": prepared["url"],
            "SECRET_KEY": prepared["secret_key"],
            "WTF_CSRF_ENABLED": False,  # the load generator has no form to read
            "MAIL_DELIVER_AFTER_REQUEST": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    client = app.test_client()
    path = f"/events/{prepared['slug']}/register"
    for n, cookie in enumerate(prepared["cookies"][:count]):
        name, value = cookie.split("=", 1)
        client.set_cookie(name, value)
        response = client.post(
            path,
            data={prepared["field"]: f"Institute {n}"},
            headers={"User-Agent": USER_AGENT},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )
        if response.status_code != 302:
            raise SystemExit(f"registration {n}: {response.status_code}")
    harness.log(f"{count} registrations")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
