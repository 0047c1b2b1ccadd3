"""Registration: each event's own form, places, the waiting list."""
