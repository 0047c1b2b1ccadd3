"""Notify me when events are announced: double opt-in subscribers and the one announcement."""

from eventsite.announcements import receivers as receivers  # connects to the events' signals
