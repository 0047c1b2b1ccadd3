"""Whole requests for the fuzz suite: form bodies and query strings, and their encoding.

A request is drawn as a *plan* (which fields to spoil, and how) and applied to a valid
base form at send time, so the same plan works whatever ids and tokens the example
created, and a failing example shrinks to the few fields that matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from .strategies import (
    INJECTION,
    JUNK_NAMES,
    FilePart,
    Long,
    Values,
    any_text,
    file_parts,
)


@dataclass(frozen=True)
class Replace:
    value: Any


@dataclass(frozen=True)
class Missing:
    pass


@dataclass(frozen=True)
class Repeat:
    """The field twice: the valid value and another (or the other first)."""

    value: Any
    other_first: bool


@dataclass(frozen=True)
class AsFile:
    part: FilePart


Mutation = Replace | Missing | Repeat | AsFile


def mutations(values: SearchStrategy[Any], files: bool) -> SearchStrategy[Mutation]:
    """Replaced, left out, sent twice, or (with `files`) sent as a file."""
    kinds = [
        st.builds(Replace, values),
        st.just(Missing()),
        st.builds(Repeat, values, st.booleans()),
    ]
    if files:
        kinds.append(st.builds(AsFile, file_parts()))
    return st.one_of(*kinds)


@dataclass(frozen=True)
class FormPlan:
    """How to spoil a valid form: mutated fields, extra fields, and the encoding."""

    changes: tuple[tuple[str, Mutation], ...]
    extra: tuple[tuple[str, Any], ...] = ()
    multipart: bool = False

    def apply(self, base: Mapping[str, Any], aliases: Mapping[str, str] | None = None) -> FormBody:
        """The body: `base` with the changes; `aliases` gives the real name of a field
        known here by another (q_<id> of a question by its kind)."""
        aliases = aliases or {}
        changes = {aliases.get(name, name): change for name, change in self.changes}
        names = list(base) + [name for name in changes if name not in base]
        pairs: list[tuple[str, Any]] = []
        for name in names:
            change = changes.get(name)
            valid = base.get(name)
            if change is None:
                if valid is not None:
                    pairs.append((name, valid))
            elif isinstance(change, Replace):
                pairs.append((name, change.value))
            elif isinstance(change, Repeat):
                first, second = (
                    (change.value, valid) if change.other_first else (valid, change.value)
                )
                pairs.extend((name, v) for v in (first, second) if v is not None)
            elif isinstance(change, AsFile):
                pairs.append((name, change.part))
        pairs.extend(self.extra)
        multipart = self.multipart or any(isinstance(v, FilePart) for _n, v in pairs)
        return FormBody(pairs, multipart)


@st.composite
def form_plans(
    draw: st.DrawFn, fields: Mapping[str, Values], max_text: int = 200_000, files: bool = False
) -> FormPlan:
    """A few fields spoiled (most examples), or every field at once; with `files`, some
    fields may be sent as file parts."""
    names = sorted(fields)
    if names:
        chosen = draw(
            st.one_of(
                st.sets(st.sampled_from(names), max_size=3),
                st.just(frozenset(names)),
            )
        )
    else:
        chosen = frozenset()
    changes = tuple(
        (name, draw(mutations(fields[name].strategy, files))) for name in names if name in chosen
    )
    junk = st.tuples(st.sampled_from(JUNK_NAMES), any_text(min(max_text, 300)))
    extra = draw(st.lists(junk, max_size=2))
    return FormPlan(changes, tuple(extra), draw(st.booleans()))


A_FILE = FilePart(b"just a file", "notes.txt", "text/plain")


def canonical_plans(fields: Mapping[str, Values], max_text: int = 200_000) -> list[FormPlan]:
    """Plans every run tries first: the valid form as it is, each field's hostile values
    alone (the rest of the form valid, so that what the form lets through reaches the
    services and the database), then every field left out, sent twice, and `max_text`
    characters long."""
    names = sorted(fields)
    plans = [FormPlan(())]
    plans += [
        FormPlan(((name, Replace(value)),)) for name in names for value in fields[name].canonical
    ]
    if names:
        plans += [
            FormPlan(tuple((name, Missing()) for name in names)),
            FormPlan(tuple((name, Repeat(INJECTION, False)) for name in names)),
            FormPlan(tuple((name, Replace(Long("a", max_text))) for name in names)),
        ]
    return plans


def file_plans(fields: Mapping[str, Values]) -> list[FormPlan]:
    """Every field sent as a file part at once."""
    if not fields:
        return []
    return [FormPlan(tuple((name, AsFile(A_FILE)) for name in sorted(fields)), multipart=True)]


# --- encoding, done here so that any byte can be sent ----------------------------------------


def to_bytes(value: Any) -> bytes:
    """UTF-8, with surrogates (from `surrogate_escaped`) turned back into the raw bytes."""
    if isinstance(value, Long):
        value = value.text
    if isinstance(value, bytes):
        return value
    value = str(value)
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def _quote(value: Any) -> str:
    return quote_from_bytes(to_bytes(value), safe="")


@dataclass
class FormBody:
    pairs: list[tuple[str, Any]]
    multipart: bool = False
    boundary: str = field(default="----eventsite-fuzz-boundary-7MA4YWxk")

    def encode(self) -> tuple[bytes, str]:
        """The body and its Content-Type."""
        if not self.multipart:
            body = "&".join(f"{_quote(n)}={_quote(v)}" for n, v in self.pairs)
            return body.encode("ascii"), "application/x-www-form-urlencoded"
        dash = f"--{self.boundary}".encode()
        chunks: list[bytes] = []
        for name, value in self.pairs:
            # Names go in a quoted header parameter: keep them to what a browser would send.
            safe_name = to_bytes(name).replace(b'"', b"%22").replace(b"\r", b"").replace(b"\n", b"")
            disposition = b'Content-Disposition: form-data; name="' + safe_name + b'"'
            headers = [disposition]
            if isinstance(value, FilePart):
                filename = to_bytes(value.filename).replace(b'"', b"%22").replace(b"\r\n", b"")
                headers[0] += b'; filename="' + filename + b'"'
                content_type = value.content_type.replace("\r", "").replace("\n", "")
                headers.append(b"Content-Type: " + content_type.encode("latin-1"))
                content = value.content
            else:
                content = to_bytes(value)
            chunks += [dash, *headers, b"", content]
        chunks.append(dash + b"--")
        chunks.append(b"")
        return b"\r\n".join(chunks), f"multipart/form-data; boundary={self.boundary}"


# --- query strings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryPlan:
    """Query parameters, and what replaces the variable part of the path (None: the valid
    slug or token)."""

    pairs: tuple[tuple[str, Any], ...]
    path: Any = None

    def encode(self) -> str:
        return "&".join(f"{_quote(n)}={_quote(v)}" for n, v in self.pairs)

    def path_segment(self, valid: str) -> str:
        return valid if self.path is None else _quote(self.path)


@st.composite
def query_plans(
    draw: st.DrawFn,
    params: Mapping[str, Values],
    path: Values | None = None,
    max_text: int = 200_000,
) -> QueryPlan:
    """Known parameters with hostile values (some repeated), parameters nobody reads, and
    sometimes a hostile slug or token in the path."""
    known = [st.tuples(st.just(name), values.strategy) for name, values in sorted(params.items())]
    junk = st.tuples(st.sampled_from(JUNK_NAMES), any_text(min(max_text, 300)))
    pairs = draw(st.lists(st.one_of(*known, junk) if known else junk, max_size=6))
    segment = draw(st.one_of(st.none(), path.strategy)) if path is not None else None
    return QueryPlan(tuple(pairs), segment)


def canonical_queries(params: Mapping[str, Values], path: Values | None = None) -> list[QueryPlan]:
    """The page as linked, each parameter's hostile values alone, every parameter twice,
    the hostile paths."""
    names = sorted(params)
    plans = [QueryPlan(())]
    plans += [QueryPlan(((name, value),)) for name in names for value in params[name].canonical]
    if names:
        plans.append(QueryPlan(tuple((name, INJECTION) for name in names for _ in range(2))))
    if path is not None:
        plans += [QueryPlan((), value) for value in path.canonical]
    return plans
