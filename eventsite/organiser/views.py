"""HTTP views of the organiser workspace (/manage).

Every route needs a logged-in organiser or admin (`access.require_login`), and every
view loads its objects through `access.load_*`, which checks the organisation.
The routes live in one module per concept, imported at the bottom.
"""

from datetime import datetime

from flask import Blueprint

from eventsite.organiser import access
from eventsite.timeutil import utcnow

bp = Blueprint("organiser", __name__, url_prefix="/manage")
bp.before_request(access.require_login)


@bp.context_processor
def _now() -> dict[str, datetime]:
    return {"now": utcnow()}


from eventsite.organiser import (  # noqa: E402  (the modules register routes on bp)
    agenda_views,
    event_views,
    organisation_views,
    registrant_views,
)

__all__ = ["agenda_views", "bp", "event_views", "organisation_views", "registrant_views"]
