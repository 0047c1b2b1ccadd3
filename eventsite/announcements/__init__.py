"""Notify me when events are announced: double opt-in subscribers and the one announcement."""
