"""Registration: each event's own form, places, the waiting list."""

from eventsite.registration import receivers  # noqa: F401  loading the package connects them
