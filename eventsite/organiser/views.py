"""The organiser workspace (/manage) with all its routes: one module per concept adds its
routes to the blueprint in `organiser.blueprint`; importing them here registers them."""

from eventsite.organiser import (
    agenda_views,
    badge_views,
    door_views,
    event_views,
    organisation_views,
    picture_views,
    registrant_table_views,
    registrant_views,
    token_views,
    webhook_views,
)
from eventsite.organiser.blueprint import bp

__all__ = [
    "agenda_views",
    "badge_views",
    "bp",
    "door_views",
    "event_views",
    "organisation_views",
    "picture_views",
    "registrant_table_views",
    "registrant_views",
    "token_views",
    "webhook_views",
]
