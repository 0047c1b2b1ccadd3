"""`python -m bench [NAME ...]`: run the bench_*.py modules and print one table."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

from bench import harness

HERE = Path(__file__).resolve().parent
# Run only when named: the scale curve generates up to 100,000 events three times over, and
# the instruction counts need valgrind and take minutes, the floor is a question asked of the
# registration bench, not a target.
ONLY_WHEN_NAMED = {"bench_floor", "bench_scale", "bench_instructions"}


def discover() -> list[str]:
    """Module names `bench_*` next to this file, in name order."""
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_"))


def parse_sizes(value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {value!r}") from None
    if not sizes or any(size < 10 for size in sizes):
        raise argparse.ArgumentTypeError("each size is a number of events, at least 10")
    return sizes


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure eventsite's pages with 10,000 events in a scratch database.",
    )
    parser.add_argument(
        "names", nargs="*", help="modules to run, e.g. public or bench_ical (default: all)"
    )
    parser.add_argument("--only", action="append", default=[], help="same as naming a module")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL database to use instead of a temporary SQLite file "
        "(it is emptied; its name must contain 'bench', 'test' or 'scratch')",
    )
    parser.add_argument("--events", type=int, default=10_000, help="events to generate")
    parser.add_argument("--requests", type=int, default=300, help="in-process requests per row")
    parser.add_argument(
        "--http-requests", type=int, default=1500, help="HTTP requests per row (gunicorn)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="HTTP client threads")
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="time limit of one measurement (row)"
    )
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn measurements")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of pages that miss their target"
    )
    parser.add_argument(
        "--scale-sizes",
        type=parse_sizes,
        help="the scale curve's sizes in events, e.g. 1000,10000 (default 1000,10000,100000)",
    )
    parser.add_argument("--list", action="store_true", help="list the modules and stop")
    return parser.parse_args(argv)


def selected(args: argparse.Namespace) -> list[str]:
    available = discover()
    wanted = [*args.names, *args.only]
    if not wanted:
        return [name for name in available if name not in ONLY_WHEN_NAMED]
    chosen = []
    for name in wanted:
        module = name if name.startswith("bench_") else f"bench_{name}"
        module = module.removesuffix(".py")
        if module not in available:
            raise SystemExit(f"no benchmark {name!r}; available: {', '.join(available)}")
        chosen.append(module)
    return chosen


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        print("\n".join(discover()))
        return 0
    ctx = harness.BenchContext(
        database_url=args.database_url,
        events=args.events,
        requests=args.requests,
        http_requests=args.http_requests,
        concurrency=args.concurrency,
        seconds=args.seconds,
        http=not args.no_http,
        profile=args.profile,
        scale_sizes=args.scale_sizes,
    )
    rows: list[harness.Row] = []
    failed: list[str] = []
    started = time.perf_counter()
    try:
        for name in selected(args):
            harness.log(f"== {name}")
            try:
                module = importlib.import_module(f"bench.{name}")
                rows.extend(module.run(ctx))
            except Exception:
                traceback.print_exc()
                failed.append(name)
                rows.append(harness.Row(name, ok=False, note="crashed; see the traceback above"))
    finally:
        ctx.close()
    print()
    database = ctx.url.split(":")[0]
    elapsed = time.perf_counter() - started
    print(
        f"eventsite benchmarks: {ctx.events} events, database {database}, {elapsed:.0f}s, "
        f"HTTP GETs by {harness.load_client()}"
    )
    print(harness.format_table(rows))
    for report in ctx.reports:
        print()
        print(report)
    missed = [r.name for r in rows if r.ok is False]
    if missed:
        print(f"\n{len(missed)} row(s) missed their target.")
    # A benchmark reports; only a crash is a failure of the command.
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
