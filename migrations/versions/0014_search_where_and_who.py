"""search by where and who: rebuild every event's stored search text with its organisation's
name, venue, city and the country's names (no schema change; the FTS5 triggers on SQLite and
the GIN trigram index on PostgreSQL of 0004 re-index each updated row)

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-03 16:00:00.000000

"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op
from babel import Locale

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

# Written out here rather than imported, so this history never changes: the rule of
# eventsite.events.search_text.build and COUNTRY_NAME_LOCALES when this was written.
COUNTRY_NAME_LOCALES = ("en", "fr", "de", "es", "it", "pt", "nl", "sw")
BATCH = 500

EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("title", sa.String),
    sa.column("summary", sa.Text),
    sa.column("description", sa.Text),
    sa.column("venue_name", sa.String),
    sa.column("city", sa.String),
    sa.column("country", sa.String),
    sa.column("organisation_id", sa.Integer),
    sa.column("search_text", sa.Text),
)
ORGANISATIONS = sa.table("organisations", sa.column("id", sa.Integer), sa.column("name", sa.String))
SESSIONS = sa.table(
    "agenda_sessions",
    sa.column("id", sa.Integer),
    sa.column("event_id", sa.Integer),
    sa.column("title", sa.String),
    sa.column("starts_at", sa.DateTime),
)
LINKS = sa.table(
    "session_speakers",
    sa.column("session_id", sa.Integer),
    sa.column("speaker_id", sa.Integer),
    sa.column("position", sa.Integer),
)
SPEAKERS = sa.table("speakers", sa.column("id", sa.Integer), sa.column("name", sa.String))


def _country_names(code):
    if not code:
        return []
    names = (Locale.parse(loc).territories.get(code.upper()) for loc in COUNTRY_NAME_LOCALES)
    return list(dict.fromkeys(name for name in names if name))


def _session_parts(conn, event_ids):
    """{event_id: [session title, its speakers' names, …]} in the agenda's order."""
    parts = defaultdict(list)
    rows = conn.execute(
        sa.select(SESSIONS.c.event_id, SESSIONS.c.id, SESSIONS.c.title, SPEAKERS.c.name)
        .select_from(
            SESSIONS.outerjoin(LINKS, LINKS.c.session_id == SESSIONS.c.id).outerjoin(
                SPEAKERS, SPEAKERS.c.id == LINKS.c.speaker_id
            )
        )
        .where(SESSIONS.c.event_id.in_(event_ids))
        .order_by(SESSIONS.c.event_id, SESSIONS.c.starts_at, SESSIONS.c.id, LINKS.c.position)
    )
    last_session = None
    for event_id, session_id, title, speaker in rows:
        if session_id != last_session:
            parts[event_id].append(title or "")
            last_session = session_id
        if speaker:
            parts[event_id].append(speaker)
    return parts


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            EVENTS.c.id,
            EVENTS.c.title,
            EVENTS.c.summary,
            EVENTS.c.description,
            EVENTS.c.venue_name,
            EVENTS.c.city,
            EVENTS.c.country,
            ORGANISATIONS.c.name,
        )
        .join(ORGANISATIONS, ORGANISATIONS.c.id == EVENTS.c.organisation_id)
        .order_by(EVENTS.c.id)
    ).all()
    stmt = (
        EVENTS.update()
        .where(EVENTS.c.id == sa.bindparam("event_id"))
        .values(search_text=sa.bindparam("text"))
    )
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        sessions = _session_parts(conn, [row.id for row in batch])
        values = []
        for row in batch:
            parts = [
                row.title or "",
                row.summary or "",
                row.description or "",
                row.name or "",
                row.venue_name or "",
                row.city or "",
                *_country_names(row.country),
                *sessions.get(row.id, []),
            ]
            text = " ".join(part for part in parts if part).replace("\x00", "").lower()
            values.append({"event_id": row.id, "text": text})
        conn.execute(stmt, values)


def downgrade():
    # The longer text is still a superset of what the earlier search looked in: every
    # event found before is found by it. Nothing to undo.
    pass
