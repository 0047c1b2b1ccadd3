"""HTTP views of the mail package."""

from flask import Blueprint

bp = Blueprint("mail", __name__)
