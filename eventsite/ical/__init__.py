"""iCalendar builders: models in, RFC 5545 bytes out (named ical: the standard library owns
calendar). No database session, no request; the feeds that serve them are in feeds/."""
