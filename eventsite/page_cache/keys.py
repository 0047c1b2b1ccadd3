"""What a cached page's key is made of: the app's rules (which endpoints, which
stamp parts), the stamp read in one statement, the address, the locale, the time bucket."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy import Select, select
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request

BUCKET_SECONDS = 60
RULES = "page_cache.rules"  # app.extensions: the app's Rules
MARK = "page_cache_cacheable"  # the attribute @cacheable sets on a view function

# Returns SQL expressions worth one value each; called once per endpoint, read per request.
StampPart = Callable[[], Iterable[Any]]
# (stamp values, address, locale, bucket); tests build others.
Key = tuple[Hashable, ...]
View = TypeVar("View", bound=Callable[..., Any])


def clock() -> float:
    """Seconds for the time buckets; tests replace this function."""
    return time.monotonic()


@dataclass
class Rules:
    """One app's cacheable pages and what their keys read."""

    app: Flask
    common: list[StampPart] = field(default_factory=list)  # every page's stamp
    by_endpoint: dict[str, list[StampPart]] = field(default_factory=dict)
    _statements: dict[str, Select | None] = field(default_factory=dict)

    @cached_property
    def endpoints(self) -> frozenset[str]:
        """The endpoints whose views are marked @cacheable, read when first needed (by
        then every view is known)."""
        views = self.app.view_functions.items()
        return frozenset(name for name, view in views if getattr(view, MARK, False))

    def statement(self, endpoint: str) -> Select | None:
        """One select of every stamp part of the page, built once: building the statement
        costs as much as running it."""
        try:
            return self._statements[endpoint]
        except KeyError:
            parts = [*self.common, *self.by_endpoint.get(endpoint, ())]
            columns = [column for part in parts for column in part()]
            stmt = select(*columns) if columns else None
            self._statements[endpoint] = stmt
            return stmt


def rules_for(app: Flask) -> Rules:
    rules = app.extensions.get(RULES)
    if rules is None:
        rules = app.extensions[RULES] = Rules(app)
    return rules


def page_key(
    engine: Engine,
    rules: Rules,
    req: Request,
    endpoint: str,
    view_args: Mapping[str, Any],
    locale: str,
) -> Key:
    """The key of a cacheable page: what it shows has not changed while this stays equal.
    The stamp is read before the page's own queries: a change committed meanwhile can only
    put newer content under an older key, never stale content under the new one."""
    stmt = rules.statement(endpoint)
    stamp: tuple[Any, ...] = ()
    if stmt is not None:
        # On a pooled connection rather than the request's ORM session: a hit then never
        # opens (and tears down) a session, which is half of what a hit costs.
        with engine.connect() as connection:
            stamp = tuple(connection.execute(stmt, dict(view_args)).one())
    address = req.full_path if req.query_string else req.path
    # The host too: absolute links (canonical, share) are built from it. (Not
    # `request.host_url`: it costs a tenth of a hit.)
    where = f"{endpoint} {req.scheme}://{req.host}{req.script_root}{address}"
    bucket = int(clock() // BUCKET_SECONDS)
    return (stamp, where, locale, bucket)
