"""HTTP views of the ical package."""

from flask import Blueprint

bp = Blueprint("ical", __name__)
