"""Public pages: home (coming soon or the listing), events, topics, organisations."""

from flask import Blueprint, render_template

bp = Blueprint("events", __name__)


@bp.get("/")
def home() -> str:
    return render_template("events/coming_soon.html")


@bp.get("/events/")
def listing() -> str:
    return render_template("events/coming_soon.html")
