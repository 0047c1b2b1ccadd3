"""Webhook deliveries: queued in the transaction of the change, posted signed to a real
receiver on 127.0.0.1, retried with back-off, never sent twice by two workers."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from eventsite.events import services as event_services
from eventsite.extensions import db
from eventsite.registration import services as registration_services
from eventsite.timeutil import utcnow
from eventsite.webhooks import sender, services
from eventsite.webhooks.models import DeliveryStatus, EventType, WebhookDelivery

ALL_TYPES = [item.value for item in EventType]


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, as the README documents it."""
    timestamp = headers["Eventsite-Webhook-Timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest("v1=" + expected, headers["Eventsite-Webhook-Signature"])


def deliveries() -> list[WebhookDelivery]:
    db.session.rollback()  # a fresh snapshot: the workers committed in other sessions
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def make_endpoint(organisation, url, types=ALL_TYPES):
    endpoint = services.create_endpoint(organisation, url=url, event_types=types, now=utcnow())
    db.session.commit()
    return endpoint


def test_a_registration_arrives_once_signed_with_its_body(
    app, make_event, make_user, receiver
) -> None:
    event = make_event(title="Open Science Forum")
    endpoint = make_endpoint(event.organisation, receiver.url)
    secret = endpoint.secret
    person = make_user(name="Ada Lovelace", email="ada@example.org")
    now = utcnow()

    registration_services.register_attendee(person, event, {}, now)
    db.session.commit()
    report = sender.deliver_due()

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [hit] = receiver.received
    assert hit.headers["Content-Type"] == "application/json"
    assert verify(secret, hit.headers, hit.body)
    assert not verify("whsec_wrong", hit.headers, hit.body)
    body = hit.json
    assert body["type"] == "registration.created"
    assert body["id"] == hit.headers["Eventsite-Webhook-Id"]
    assert body["data"]["registration"]["attendee"] == {
        "name": "Ada Lovelace",
        "email": "ada@example.org",
    }
    assert body["data"]["registration"]["status"] == "confirmed"
    assert body["data"]["event"]["title"] == "Open Science Forum"
    assert body["data"]["event"]["url"].endswith(f"/events/{event.slug}")
    [row] = deliveries()
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.SENT, 1, 200)
    assert sender.deliver_due().total == 0  # nothing left: sent once


def test_a_change_rolled_back_sends_nothing(app, make_event, make_user, receiver) -> None:
    event = make_event()
    make_endpoint(event.organisation, receiver.url)
    registration_services.register_attendee(make_user(), event, {}, utcnow())
    db.session.rollback()

    assert deliveries() == []
    assert sender.deliver_due().total == 0
    assert receiver.received == []


def test_only_the_chosen_kinds_of_events_are_sent(app, make_event, make_user, receiver) -> None:
    event = make_event()
    make_endpoint(event.organisation, receiver.url, types=["registration.cancelled"])
    other = make_event()  # another organisation's: its endpoint hears nothing of it
    now = utcnow()
    registration = registration_services.register_attendee(make_user(), event, {}, now)
    registration_services.register_attendee(make_user(), other, {}, now)
    db.session.commit()
    registration_services.cancel_registration(registration, now)
    db.session.commit()

    sender.deliver_due()

    assert [hit.json["type"] for hit in receiver.received] == ["registration.cancelled"]


def test_check_in_and_event_changes_are_sent(app, make_event, make_user, receiver) -> None:
    event = make_event()
    make_endpoint(event.organisation, receiver.url)
    now = utcnow()
    registration = registration_services.register_attendee(make_user(), event, {}, now)
    db.session.commit()
    registration_services.check_in(registration, now)
    db.session.commit()
    event_services.cancel_event(event, "The venue flooded.", now)
    db.session.commit()

    sender.deliver_due()

    types = [hit.json["type"] for hit in receiver.received]
    assert types == ["registration.created", "registration.checked_in", "event.cancelled"]
    assert receiver.received[2].json["data"]["event"]["status"] == "cancelled"


def test_a_failing_receiver_is_tried_again_later_then_the_delivery_arrives(
    app, make_event, make_user, receiver
) -> None:
    event = make_event()
    make_endpoint(event.organisation, receiver.url)
    receiver.statuses = [500, 503]
    now = utcnow()
    registration_services.register_attendee(make_user(), event, {}, now)
    db.session.commit()

    assert sender.deliver_due(now=now).retried == 1
    [row] = deliveries()
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.PENDING, 1, 500)
    assert row.next_attempt_at == now + timedelta(minutes=1)
    assert sender.deliver_due(now=now + timedelta(seconds=59)).total == 0  # not yet due

    assert sender.deliver_due(now=now + timedelta(minutes=1)).retried == 1
    assert deliveries()[0].next_attempt_at == now + timedelta(minutes=6)  # then 5 min
    assert sender.deliver_due(now=now + timedelta(minutes=6)).sent == 1

    [row] = deliveries()
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.SENT, 3, 200)
    ids = {hit.headers["Eventsite-Webhook-Id"] for hit in receiver.received}
    assert len(receiver.received) == 3 and ids == {row.webhook_id}  # one id on every attempt
    assert len({hit.body for hit in receiver.received}) == 1


def test_a_receiver_that_never_answers_well_fails_after_six_attempts(
    app, make_event, make_user, receiver
) -> None:
    event = make_event()
    make_endpoint(event.organisation, receiver.url)
    receiver.statuses = [500] * 10
    now = utcnow()
    registration_services.register_attendee(make_user(), event, {}, now)
    db.session.commit()

    for _ in range(6):
        sender.deliver_due(now=now)
        now = now + timedelta(hours=13)

    [row] = deliveries()
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 6)
    assert len(receiver.received) == 6
    assert sender.deliver_due(now=now + timedelta(days=2)).total == 0

    services.send_again(row, now)  # "Send again" in the workspace
    db.session.commit()
    receiver.statuses = []
    assert sender.deliver_due(now=now).sent == 1


def test_an_unreachable_receiver_is_retried(app, make_event, make_user, receiver) -> None:
    event = make_event()
    make_endpoint(event.organisation, "http://127.0.0.1:9/nobody-listens")
    registration_services.register_attendee(make_user(), event, {}, utcnow())
    db.session.commit()

    assert sender.deliver_due().retried == 1
    [row] = deliveries()
    assert row.last_status_code is None and row.last_error


def test_two_workers_deliver_fifty_deliveries_each_exactly_once(
    app, make_event, make_user, receiver
) -> None:
    event = make_event()
    endpoint = make_endpoint(event.organisation, receiver.url)
    now = utcnow()
    for n in range(50):
        services.queue(event.organisation_id, EventType.EVENT_CHANGED, {"n": n}, now)
    db.session.commit()
    assert len(deliveries()) == 50
    start = threading.Barrier(2)
    reports: list[sender.SendReport] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with app.app_context():
                start.wait(timeout=10)
                reports.append(sender.deliver_due())
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(report.sent for report in reports) == 50
    arrived = Counter(hit.headers["Eventsite-Webhook-Id"] for hit in receiver.received)
    assert len(arrived) == 50 and set(arrived.values()) == {1}
    assert all(verify(endpoint.secret, hit.headers, hit.body) for hit in receiver.received)
    assert sorted(json.loads(hit.body)["data"]["n"] for hit in receiver.received) == list(range(50))
    assert all(row.status == DeliveryStatus.SENT for row in deliveries())


def test_a_disabled_endpoint_gets_nothing(app, make_event, make_user, receiver) -> None:
    event = make_event()
    endpoint = make_endpoint(event.organisation, receiver.url)
    services.set_active(endpoint, False)
    db.session.commit()
    registration_services.register_attendee(make_user(), event, {}, utcnow())
    db.session.commit()

    assert deliveries() == []
    assert receiver.received == []


def test_the_commands_send_due_deliveries(app, runner, make_event, make_user, receiver) -> None:
    event = make_event()
    make_endpoint(event.organisation, receiver.url)
    for _ in range(2):
        registration_services.register_attendee(make_user(), event, {}, utcnow())
        db.session.commit()
    db.session.remove()

    result = runner.invoke(args=["webhooks", "send", "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert "Webhooks: 1 sent, 0 to retry, 0 failed." in result.output
    result = runner.invoke(args=["outbox", "work", "--once"])  # the worker's round sends too
    assert result.exit_code == 0, result.output
    assert "Webhooks: 1 sent" in result.output

    assert len(receiver.received) == 2
    assert all(row.status == DeliveryStatus.SENT for row in deliveries())


def test_endpoints_are_kept_between_registrations_and_a_change_is_seen_at_once(
    app, client, login, make_event, make_user, receiver, count_queries
) -> None:
    """A registration looks the organisation's endpoints up once per catalogue stamp
    (`services.queue`): the next person's POST reads them no more, and adding, pausing or
    deleting an endpoint moves the stamp, so the very next registration follows it."""
    event = make_event(title="Kept Hooks Forum", capacity=10)
    url = f"/events/{event.slug}/register"

    def register() -> list[str]:
        login(make_user())
        with count_queries() as counter:
            assert client.post(url, data={}).status_code == 302
        return [s for s in counter.statements if "FROM webhook_endpoints" in s]

    register()  # none yet, and that is kept
    assert register() == []
    assert deliveries() == []

    endpoint = make_endpoint(event.organisation, receiver.url, types=["registration.created"])
    endpoint_id = endpoint.id
    assert len(register()) == 1  # the stamp moved: looked up again
    assert register() == []
    assert [d.endpoint_id for d in deliveries()] == [endpoint_id, endpoint_id]

    services.set_active(db.session.get(type(endpoint), endpoint_id), False)
    db.session.commit()
    register()
    assert len(deliveries()) == 2  # paused: nothing more for it

    services.set_active(db.session.get(type(endpoint), endpoint_id), True)
    db.session.commit()
    register()
    assert len(deliveries()) == 3
    services.delete_endpoint(db.session.get(type(endpoint), endpoint_id))
    db.session.commit()
    register()
    assert deliveries() == []  # deleted with its log, and nothing queued for it since
