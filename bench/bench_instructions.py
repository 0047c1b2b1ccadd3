"""Instructions a registration POST costs in one process, counted by valgrind's callgrind:
the yardstick for a change to the registration's Python, where timings on a shared machine
move by a fifth from one minute to the next and counted instructions by a fifth of a percent.

Two runs of `bench.registration_loop`, each on an event and accounts of its own, register
FEW and MANY people; (instructions(MANY) − instructions(FEW)) / (MANY − FEW) leaves out
what both pay once (start-up, imports, the first request's templates and statements). Only
the Python process is counted (PostgreSQL's server is not). Runs only when named (`python
-m bench instructions`), and only where valgrind is installed (`apt-get install valgrind`);
on PostgreSQL too when EVENTSITE_BENCH_POSTGRES_URL names a database for it (as
`bench_registration`). About a minute and a half a backend (the two runs side by side).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import harness
from bench.bench_registration import _prepare
from bench.harness import BenchContext, Row

FEW, MANY = 60, 260
COLLECTED = re.compile(r"Collected : (\d+)")


def _instructions(prepared: Path, count: int) -> int:
    """Instructions the loop takes to register `count` people, by callgrind."""
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, "-m", "bench.registration_loop", str(prepared), str(count),
    ]  # fmt: skip
    # One hash seed for every run: string hashing decides dict and set layouts, which
    # moved the count by a percent from run to run.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        command, cwd=harness.ROOT, env=env, capture_output=True, text=True, check=False
    )
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def write_prepared(path: Path | str, url: str, slug: str, cookies: list[str], field: str) -> None:
    """What `bench.registration_loop` reads: the database, the key the cookies are signed
    with, the event, one session cookie per account and the required question's field."""
    Path(path).write_text(
        json.dumps(
            {
                "url": url,
                "secret_key": harness.SECRET_KEY,
                "slug": slug,
                "cookies": cookies,
                "field": field,
            }
        )
    )


def measure(label: str, urls: tuple[str, str], workdir: Path) -> Row:
    """Each run on a database of its own (`urls`, fresh schemas) or, given the same one
    twice, on an event of its own in it: the two run side by side."""
    runs = []
    for n, (url, count) in enumerate(zip(urls, (FEW, MANY), strict=True)):
        _app, slug, cookies, field = _prepare(url, fresh=n == 0 or url != urls[0])
        path = workdir / f"instructions-{label.lower()}-{count}.json"
        write_prepared(path, url, slug, cookies, field)
        runs.append((path, count))
    harness.log(f"  {label}: {FEW} and {MANY} registrations under callgrind (side by side) ...")
    with ThreadPoolExecutor(max_workers=2) as pool:
        few, many = pool.map(lambda run: _instructions(*run), runs)
    each = (many - few) / (MANY - FEW)
    harness.log(f"  {label}: {each / 1e6:.2f} M instructions a registration")
    return Row(
        f"registration POST in one process, {label}: instructions a registration",
        note=f"{each / 1e6:.2f} M instructions ((I({MANY}) − I({FEW})) / {MANY - FEW}, callgrind)",
    )


def run(ctx: BenchContext) -> list[Row]:
    if shutil.which("valgrind") is None:
        return [Row("registration POST instructions", note="skipped: valgrind is not installed")]
    files = tuple(f"sqlite:///{ctx.workdir / f'instructions-{n}.sqlite3'}" for n in (1, 2))
    rows = [measure("SQLite", (files[0], files[1]), ctx.workdir)]
    postgres = os.environ.get("EVENTSITE_BENCH_POSTGRES_URL")
    if postgres:
        url = harness.prepare_database(postgres, ctx.workdir)
        rows.append(measure("PostgreSQL", (url, url), ctx.workdir))
    return rows
