"""Forms of the calendar pages: only CSRF-protected buttons."""

from eventsite import forms_common


class CalendarTokenForm(forms_common.Form):
    """Regenerate a secret feed URL (the old one stops working)."""
