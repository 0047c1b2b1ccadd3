"""Issue 2: the public pages with 10,000 events, in process and over HTTP via gunicorn."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

from bench import harness
from bench.harness import BenchContext, Row
from eventsite.page_cache import store

MAX_MEDIAN_MS = 10.0  # listing and event pages, in process
MIN_HTTP_RATIO = 0.60  # of a bare Flask app's requests/s under the same gunicorn settings


def pages(data: harness.GeneratedData) -> list[tuple[str, str]]:
    topic = data.topic_slugs[0]
    return [
        ("home (listing)", "/"),
        ("listing, first page", "/events/"),
        ("listing, filtered", f"/events/?topic={topic}&format=hybrid"),
        ("listing, text search", f"/events/?q={data.search_word}"),
        ("listing, search by country", f"/events/?q={data.search_place}"),
        ("listing, page 50", "/events/?page=50"),
        ("event page", f"/events/{data.event_slugs[0]}"),
    ]


@contextmanager
def page_cache_switched(app: Flask, *, on: bool) -> Iterator[None]:
    """With the page cache off, every request renders its page."""
    kept = app.extensions.get(store.EXTENSION)
    if not on:
        app.extensions.pop(store.EXTENSION, None)
    try:
        yield
    finally:
        if kept is not None:
            app.extensions[store.EXTENSION] = kept


def run(ctx: BenchContext) -> list[Row]:
    data = ctx.data()
    targets = pages(data)
    rows: list[Row] = []

    # Anonymous visitors are served from the page cache; a change to the catalogue (or a
    # registration, for an event page) makes the next visitor render it again.
    for suffix, cached in (("in-process", True), ("in-process, rendered", False)):
        with page_cache_switched(ctx.app, on=cached):
            for name, path in targets:
                stats = harness.measure_in_process(
                    ctx.app, path, requests=ctx.requests, max_seconds=ctx.seconds
                )
                row = Row.from_stats(f"{name} ({suffix})", stats, max_median_ms=MAX_MEDIAN_MS)
                harness.log(f"  {row.name}: median {row.median_ms:.2f} ms, {row.rps:.0f} req/s")
                rows.append(row)
                if ctx.profile and row.ok is False:
                    harness.log(f"--- cProfile of GET {path}")
                    harness.log(harness.profile_in_process(ctx.app, path))

    if not ctx.http:
        return rows

    def load(server: harness.Gunicorn, path: str) -> harness.Stats:
        return harness.http_load(
            server.host,
            server.port,
            path,
            requests=ctx.http_requests,
            concurrency=ctx.concurrency,
            max_seconds=ctx.seconds,
        )

    # The yardstick before and after the site, so a busy moment on a shared machine does
    # not land on one side only.
    with ctx.gunicorn("bench.bare_app:app") as bare:
        bare_before = load(bare, "/")
    site_stats = []
    with ctx.gunicorn("wsgi:app") as site:
        for name, path in targets:
            site_stats.append((name, load(site, path)))
            harness.log(f"  {name} (HTTP): {site_stats[-1][1].rps:.0f} req/s")
    with ctx.gunicorn("bench.bare_app:app") as bare:
        bare_after = load(bare, "/")

    bare_rps = (bare_before.rps + bare_after.rps) / 2
    bare_row = Row.from_stats("bare Flask app, one template (HTTP)", bare_after)
    bare_row.rps = bare_rps
    bare_row.note = (
        f"req/s is the mean of a run before ({bare_before.rps:.0f}) and after "
        f"({bare_after.rps:.0f}) the site's"
    )
    rows.append(bare_row)
    for name, stats in site_stats:
        ratio = stats.rps / bare_rps if bare_rps else 0.0
        row = Row.from_stats(f"{name} (HTTP)", stats)
        row.target = f">= {MIN_HTTP_RATIO:.0%} of bare ({ratio:.0%})"
        row.ok = ratio >= MIN_HTTP_RATIO and not stats.errors
        rows.append(row)
    return rows
