"""The organiser workspace's blueprint (/manage), which every view module adds its routes to.

Every route needs a logged-in organiser or admin (`access.require_login`), and every
view loads its objects through `access.load_*`, which checks the organisation.
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
