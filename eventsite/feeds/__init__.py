"""The calendar feeds: which events they hold, their versions and cache, the secret feed
tokens, the "Add to calendar" links and the views that serve them (built by ical/)."""
