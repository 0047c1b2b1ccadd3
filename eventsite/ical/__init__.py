"""iCalendar exports and feeds (named ical: the standard library owns calendar)."""

# The catalogue version's listeners must see every session's writes, wherever they come
# from (requests, CLI, tests), so they are registered whenever this package is imported.
from eventsite.ical import catalogue as catalogue
