"""The yardsticks, served by the same gunicorn settings as the site (`gunicorn
bench.bare_app:app`): a bare Flask app rendering one template (`/`), and the naive listing
(`/listing`): 20 of 10,000 rows read from SQLite with plain SQLAlchemy and rendered with a
Jinja template, what a first Flask tutorial app does. The naive listing's file is named by
`BENCH_NAIVE_DATABASE` (bench_public writes it: `naive_database`)."""

from __future__ import annotations

import os
from functools import cache

from flask import Flask, render_template
from jinja2 import DictLoader
from sqlalchemy import Engine, create_engine, text

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<header><a href="/">{{ title }}</a></header>
<main>
<h1>{{ title }}</h1>
<ul>
{% for item in items %}
  <li><a href="/events/{{ item.slug }}">{{ item.name }}</a> — {{ item.city }}</li>
{% endfor %}</ul>
</main>
</body>
</html>
"""

LISTING = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Upcoming events</title></head>
<body>
<header><a href="{{ url_for('listing') }}">Events</a></header>
<main>
<h1>Upcoming events</h1>
<ol>
{% for event in events %}
  <li><article>
    <h3><a href="/events/{{ event.slug }}">{{ event.title }}</a></h3>
    <p>{{ event.starts_at }} — {{ event.city }}</p>
    <p>{{ event.summary }}</p>
  </article></li>
{% endfor %}</ol>
</main>
</body>
</html>
"""

ITEMS = [
    {"slug": f"event-{n}", "name": f"Conference number {n}", "city": "Geneva"} for n in range(20)
]

app = Flask(__name__)
app.jinja_loader = DictLoader({"page.html": PAGE, "listing.html": LISTING})


@cache
def naive_engine() -> Engine:
    return create_engine(f"sqlite:///{os.environ['BENCH_NAIVE_DATABASE']}")


@app.get("/")
def index() -> str:
    return render_template("page.html", title="Events", items=ITEMS)


@app.get("/listing")
def listing() -> str:
    with naive_engine().connect() as conn:
        events = conn.execute(
            text(
                "SELECT slug, title, summary, city, starts_at FROM events "
                "WHERE starts_at > '2000-01-01' ORDER BY starts_at LIMIT 20"
            )
        ).all()
    return render_template("listing.html", events=events)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
