"""Forms of the calendar pages: only CSRF-protected buttons."""

from flask_wtf import FlaskForm


class CalendarTokenForm(FlaskForm):
    """Regenerate a secret feed URL (the old one stops working)."""
