"""`python -m bench scale`: the scale curve's verdicts, its options, and a tiny run so the
module cannot rot (the real curve is `make bench`'s, on PostgreSQL); and the loop that
`python -m bench instructions` counts, run without valgrind for the same reason; and two
modules of one run sharing its scratch database."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import __main__ as bench_main
from bench.bench_public import median_round
from bench.bench_scale import Measure, format_curve, verdict
from bench.harness import Stats

ROOT = Path(__file__).resolve().parent.parent


def _scratch_environment(tmp_path: Path) -> dict[str, str]:
    """A bench run's environment in a scratch directory: none of this shell's database or
    site settings, its temporary files (the scratch SQLite database) under `tmp_path`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTSITE_")}
    env.pop("DATABASE_URL", None)
    env["TMPDIR"] = str(tmp_path)
    return env


def _run_python(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`script` run by a Python of its own from the project's root; it must succeed."""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_a_language_is_compared_with_english_in_the_median_round() -> None:
    """Three rounds of (language, English): the pair in the middle by slowdown decides,
    so one round on a slow moment for either side does not."""

    def run(rps: float) -> Stats:
        return Stats([0.001] * int(rps), 1.0)

    rounds = [(run(900), run(1000)), (run(700), run(1000)), (run(1000), run(1020))]
    assert median_round(rounds) == rounds[0]  # slowdowns 1.11, 1.43, 1.02
    assert median_round(rounds[:1]) == rounds[0]


def test_a_page_twice_as_slow_at_a_hundred_times_the_data_is_flat() -> None:
    measure = Measure("listing", medians={1_000: 20.0, 100_000: 40.0})
    assert verdict(measure, [1_000, 100_000]) == ("2.0×", "flat")


def test_a_page_showing_twenty_items_that_slows_down_with_the_data_grows_wrongly() -> None:
    measure = Measure("listing, last page", medians={1_000: 20.0, 100_000: 90.0})
    assert verdict(measure, [1_000, 100_000]) == ("4.5×", "grows ✗")


def test_a_page_listing_every_item_may_grow() -> None:
    measure = Measure("sitemap", grows=True, medians={1_000: 20.0, 100_000: 900.0})
    assert verdict(measure, [1_000, 100_000]) == ("45.0×", "grows with items shown")


def test_a_few_milliseconds_more_on_a_cache_hit_is_noise() -> None:
    measure = Measure("listing (cached)", medians={1_000: 0.5, 100_000: 3.0})
    assert verdict(measure, [1_000, 100_000])[1] == "flat"


def test_the_curve_is_a_markdown_table_with_one_column_per_size() -> None:
    measures = [
        Measure("event page", medians={1_000: 10.0, 10_000: 11.0, 100_000: 12.0}),
        Measure("CSV export", grows=True, medians={1_000: 50.0, 10_000: 400.0, 100_000: 4000.0}),
    ]
    measures[1].notes[100_000] = "12.0 MB, peak 3.0 MB traced"
    table = format_curve(measures, [1_000, 10_000, 100_000], ["generated in 2 s"])
    lines = table.splitlines()
    header = next(line for line in lines if line.startswith("| page"))
    assert "1,000 events" in header and "100,000 events" in header
    assert "growth 1k→100k" in header
    assert any("event page" in line and "1.2×" in line and "flat" in line for line in lines)
    assert any("CSV export" in line and "grows with items shown" in line for line in lines)
    assert "- CSV export: 100,000: 12.0 MB, peak 3.0 MB traced" in lines
    assert "- generated in 2 s" in lines


def test_scale_sizes_are_a_comma_separated_list_of_event_counts() -> None:
    assert bench_main.parse_sizes("1000,10_000") == (1000, 10000)
    for bad in ("ten", "1000,", "5"):
        with pytest.raises(argparse.ArgumentTypeError):
            bench_main.parse_sizes(bad)


def test_the_scale_curve_the_instruction_count_and_the_floor_run_only_when_named() -> None:
    everything = bench_main.selected(bench_main.parse_args([]))
    assert "bench_public" in everything
    assert "bench_scale" not in everything and "bench_instructions" not in everything
    assert bench_main.selected(bench_main.parse_args(["scale"])) == ["bench_scale"]
    assert bench_main.selected(bench_main.parse_args(["instructions"])) == ["bench_instructions"]
    assert "bench_floor" not in everything
    assert bench_main.selected(bench_main.parse_args(["floor"])) == ["bench_floor"]


@pytest.mark.slow
def test_the_counted_registration_loop_registers_people(tmp_path: Path) -> None:
    """What callgrind counts: the prepared accounts registered through the form, each
    answered with the registration's redirect (the loop stops on anything else)."""
    env = _scratch_environment(tmp_path)
    script = f"""
import subprocess, sys
from sqlalchemy import func, select
from bench import bench_instructions, bench_registration
from eventsite.extensions import db
from eventsite.models import Registration
url = "sqlite:///{tmp_path / "loop.sqlite3"}"
app, slug, cookies, field = bench_registration._prepare(url, fresh=True)
path = "{tmp_path / "loop.json"}"
bench_instructions.write_prepared(path, url, slug, cookies, field)
subprocess.run([sys.executable, "-m", "bench.registration_loop", path, "5"], check=True)
with app.app_context():
    print("registered", db.session.scalar(select(func.count()).select_from(Registration)))
"""
    result = _run_python(script, env)
    assert "registered 5" in result.stdout


@pytest.mark.slow
def test_the_floor_registers_people_in_the_sites_own_table(tmp_path: Path) -> None:
    """`python -m bench floor`'s yardstick app, in process on a scratch SQLite file: the
    prepared accounts' registrations answered with a redirect and written into the site's
    own table with its defaults (a change of its columns cannot leave the floor behind), the
    301st on the waiting list; a form without the required answer is refused."""
    env = _scratch_environment(tmp_path)
    env["SECRET_KEY"] = "floor-test"
    script = f"""
import os
from sqlalchemy import select
from bench import bench_registration, harness
from eventsite.extensions import db
from eventsite.models import Registration
url = "sqlite:///{tmp_path / "floor.sqlite3"}"
harness.SECRET_KEY = os.environ["SECRET_KEY"]
app, slug, cookies, field = bench_registration._prepare(url, fresh=True)
os.environ["DATABASE_URL"] = url
from bench.bench_floor import floor_app
client = floor_app.test_client()
path = f"/events/{{slug}}/register"
def post(cookie, data):
    client.set_cookie(*cookie.split("=", 1))
    return client.post(path, data=data, headers={{"User-Agent": bench_registration.USER_AGENT}})
print("refused", post(cookies[0], {{field: ""}}).status_code)
for n in range(301):
    response = post(cookies[n], {{field: f"Institute {{n}}"}})
    assert response.status_code == 302, (n, response.status_code)
    assert response.location.startswith("/registrations/")
with app.app_context():
    rows = db.session.scalars(select(Registration).order_by(Registration.id)).all()
    print("rows", len(rows), rows[0].status, rows[0].answers, rows[-1].status)
    print("codes", len({{r.ticket_code for r in rows}}), len({{r.public_id for r in rows}}))
"""
    result = _run_python(script, env)
    assert "refused 422" in result.stdout
    assert "rows 301 confirmed {'1': 'Institute 0', '2': False} waitlisted" in result.stdout
    assert "codes 301 301" in result.stdout


@pytest.mark.slow
def test_a_tiny_scale_curve_runs_end_to_end(tmp_path: Path) -> None:
    """Two small sizes in a scratch SQLite file: every page answers, the table prints."""
    env = _scratch_environment(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "bench", "scale", "--scale-sizes", "30,60", "--requests", "3",
         "--no-http"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    header = next(line for line in out.splitlines() if line.startswith("| page"))
    assert "30 events" in header and "60 events" in header and "growth 30→60" in header
    for row in ("listing, last page (rendered)", "sitemap.xml (cached)", "/calendar.ics, 304",
                "workspace: statistics", "workspace: XLSX export of the big event"):  # fmt: skip
        assert row in out
    assert "300 registrations of 30 people" in out


@pytest.mark.slow
def test_the_badges_leave_the_runs_catalogue_to_the_modules_after_them(tmp_path: Path) -> None:
    """`make bench` runs every module on one scratch database, the badges' first: the
    calendars' module after it finds the generated events, all of them and no others (the
    badges' rows once took their ids, then stayed in its full feed's count)."""
    env = _scratch_environment(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "bench", "badges", "ical", "--events", "30", "--requests", "3",
         "--no-http"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-3000:]
    table = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert any(line.startswith("| badges PDF") for line in table), result.stdout
    assert any("calendar" in line.lower() or ".ics" in line for line in table), result.stdout
    assert "full feed cold build, all 30 events" in result.stdout  # none of the badges'
