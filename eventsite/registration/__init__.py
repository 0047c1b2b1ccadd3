"""Registration: each event's own form, places, the waiting list."""

from eventsite.registration import receivers as receivers  # connects to the events' signals
