"""Send this to a friend: a fixed message about an event, sent on a visitor's behalf."""
