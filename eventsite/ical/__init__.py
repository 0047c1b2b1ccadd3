"""iCalendar exports and feeds (named ical: the standard library owns calendar)."""
