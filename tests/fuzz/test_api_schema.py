"""Schemathesis fuzzes the API from its own OpenAPI document against a running server:
valid and invalid input on every operation, and every response must be documented, match
its schema and never be a server error."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from eventsite.extensions import db
from eventsite.organisations import access_tokens
from eventsite.timeutil import utcnow

from ..conftest import NOW

pytestmark = pytest.mark.fuzz

EXAMPLES = 12  # per operation and mode: the module (both backends) runs in under a minute
# Well-formed input may still be refused by a rule the document cannot state (an end
# before the start, a session outside the event's dates): a 422 naming the field, which
# the document lists for those operations.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
            }
        }
    }
)


@pytest.fixture
def token(
    make_event, make_topic, make_session, make_speaker, make_member, make_user, make_registration
) -> str:
    """A small catalogue, and a write token of the organisation of its events (ids 1, 2)."""
    topic = make_topic("Oceans")
    event = make_event(slug="deep-sea", topics=[topic], capacity=5)
    make_session(event, speakers=[make_speaker("Ada Example")])
    make_event(starts_at=NOW - timedelta(days=400), organisation=event.organisation)
    make_registration(make_user(), event)
    _token, secret = access_tokens.create_token(
        event.organisation,
        name="fuzz",
        scope=access_tokens.TokenScope.WRITE,
        expires_at=None,
        created_by=make_member(event.organisation),
        now=utcnow(),
    )
    db.session.commit()
    return secret


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_api_operation_survives_fuzzing(live_server, token, mode) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server}/api/openapi.json", config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations

    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not (len(operation.query) or operation.body):
            continue  # nothing to get wrong: a bare path (a slug is any string)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=live_server, headers={"Authorization": f"Bearer {token}"}
            )

        fuzz()
