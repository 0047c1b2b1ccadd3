"""HTTP views of the registration package."""

from flask import Blueprint

bp = Blueprint("registration", __name__)
