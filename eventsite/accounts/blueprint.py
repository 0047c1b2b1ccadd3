"""The accounts blueprint, which `views` (sign-up, log-in, links from emails) and
`account_views` (the account page) add their routes to."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)
