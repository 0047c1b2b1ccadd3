"""The yardstick: a bare Flask app rendering one template, served by the same gunicorn
settings as the site (`gunicorn bench.bare_app:app`)."""

from __future__ import annotations

from flask import Flask, render_template
from jinja2 import DictLoader

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

ITEMS = [
    {"slug": f"event-{n}", "name": f"Conference number {n}", "city": "Geneva"} for n in range(20)
]

app = Flask(__name__)
app.jinja_loader = DictLoader({"page.html": PAGE})


@app.get("/")
def index() -> str:
    return render_template("page.html", title="Events", items=ITEMS)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
