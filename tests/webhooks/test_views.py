"""The workspace's webhooks page: add, turn off, remove an endpoint, read the delivery log,
send a delivery again; bad input gets a message and 422; only members get in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from eventsite.extensions import db
from eventsite.models import AuditEntry
from eventsite.registration import services as registration_services
from eventsite.timeutil import utcnow
from eventsite.webhooks import sender, services
from eventsite.webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint

ALL_TYPES = [kind.value for kind in EventType]


@pytest.fixture
def organisation(make_organisation):
    return make_organisation(name="Science Org")


@pytest.fixture
def member(organisation, make_member, login):
    person = make_member(organisation)
    login(person)
    return person


def page_url(organisation) -> str:
    return f"/manage/organisations/{organisation.id}/webhooks"


def endpoints() -> list[WebhookEndpoint]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_member_adds_an_endpoint_and_sees_its_secret(client, organisation, member) -> None:
    response = client.post(
        page_url(organisation),
        data={
            "url": " https://crm.example.org/hooks ",
            "event_types": ["registration.created", "registration.cancelled"],
        },
    )

    assert response.status_code == 302
    [endpoint] = endpoints()
    assert endpoint.url == "https://crm.example.org/hooks"
    assert endpoint.event_types == ["registration.created", "registration.cancelled"]
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    page = client.get(page_url(organisation))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "https://crm.example.org/hooks" in html
    assert endpoint.secret in html
    assert "Someone registered" in html and "A registration was cancelled" in html
    assert audit_actions() == ["webhook_create"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "This field is required."),
        ("crm.example.org/hooks", "Enter a full web address starting with https://."),
        ("ftp://crm.example.org/hooks", "Enter a full web address starting with https://."),
        ("http://crm.example.org/hooks", "The address must start with https://."),
        ("https://user:pw@crm.example.org/", "may not contain a user name or password"),
        ("https://crm.example.org:99999/", "This is not a web address."),
        ("https://example.org/" + "a" * 500, "500 characters"),
    ],
)
def test_a_bad_address_is_refused_with_a_message(
    client, organisation, member, url: str, message: str
) -> None:
    response = client.post(
        page_url(organisation), data={"url": url, "event_types": ["registration.created"]}
    )

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert endpoints() == []


@pytest.mark.parametrize("types", [[], ["registration.deleted"], ["event.published", "nope"]])
def test_unknown_or_no_kinds_of_events_are_refused(client, organisation, member, types) -> None:
    response = client.post(
        page_url(organisation), data={"url": "https://crm.example.org/", "event_types": types}
    )

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose at least one kind of event to send." in html or "not a valid choice" in html
    assert endpoints() == []


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.8/hooks",
        "https://192.168.1.1/",
        "https://127.0.0.1/",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/",
        "https://[fd00::1]/",
        "https://localhost/",
        "https://metadata.localhost/",
        "http://127.0.0.1:8000/",
    ],
)
def test_production_refuses_local_and_private_addresses(app, url: str) -> None:
    with pytest.raises(services.WebhookError):
        services.check_url(url, allow_local=False)


def test_production_accepts_a_public_https_address(app) -> None:
    assert services.check_url("https://8.8.8.8/x", allow_local=False) == "https://8.8.8.8/x"
    assert services.check_url("https://crm.example.org/", allow_local=False)


def test_tests_and_development_may_use_plain_http_on_this_machine(app) -> None:
    assert services.check_url("http://127.0.0.1:8000/h", allow_local=True)
    assert services.check_url("http://localhost/h", allow_local=True)
    with pytest.raises(services.WebhookError):
        services.check_url("http://192.168.1.1/h", allow_local=True)


def test_people_outside_the_organisation_are_refused(
    client, organisation, make_organisation, make_member, login
) -> None:
    endpoint = services.create_endpoint(
        organisation, url="https://crm.example.org/", event_types=ALL_TYPES, now=utcnow()
    )
    db.session.commit()
    login(make_member(make_organisation()))

    assert client.get(page_url(organisation)).status_code == 403
    response = client.post(
        page_url(organisation),
        data={"url": "https://evil.example.org/", "event_types": ALL_TYPES},
    )
    assert response.status_code == 403
    assert client.post(f"{page_url(organisation)}/{endpoint.id}/remove").status_code == 403
    assert [e.url for e in endpoints()] == ["https://crm.example.org/"]


def test_an_endpoint_of_another_organisation_is_not_found(
    client, organisation, member, make_organisation
) -> None:
    other = services.create_endpoint(
        make_organisation(), url="https://crm.example.org/", event_types=ALL_TYPES, now=utcnow()
    )
    db.session.commit()

    assert client.post(f"{page_url(organisation)}/{other.id}/remove").status_code == 404
    assert len(endpoints()) == 1


def test_turning_off_and_removing_an_endpoint(client, organisation, member) -> None:
    endpoint = services.create_endpoint(
        organisation, url="https://crm.example.org/", event_types=ALL_TYPES, now=utcnow()
    )
    db.session.commit()

    assert client.post(f"{page_url(organisation)}/{endpoint.id}/switch").status_code == 302
    assert endpoints()[0].is_active is False
    assert "Turn on" in client.get(page_url(organisation)).get_data(as_text=True)
    client.post(f"{page_url(organisation)}/{endpoint.id}/switch")
    assert endpoints()[0].is_active is True
    client.post(f"{page_url(organisation)}/{endpoint.id}/remove")

    assert endpoints() == []
    assert audit_actions() == ["webhook_disable", "webhook_enable", "webhook_remove"]


def test_the_delivery_log_shows_failures_and_sends_one_again(
    client, organisation, member, make_event, make_user, receiver, count_queries
) -> None:
    event = make_event(organisation=organisation)
    services.create_endpoint(organisation, url=receiver.url, event_types=ALL_TYPES, now=utcnow())
    db.session.commit()
    receiver.statuses = [500]
    for _ in range(3):
        registration_services.register_attendee(make_user(), event, {}, utcnow())
        db.session.commit()
    sender.deliver_due()  # one 500, two 200

    with count_queries() as counter:
        html = client.get(page_url(organisation)).get_data(as_text=True)
    assert counter.count <= 8  # the log's endpoints come with it: no query per row
    assert html.count("<code>registration.created</code>") == 3
    assert "500 HTTP 500" in html and html.count("Sent") >= 2

    db.session.expire_all()
    failed = db.session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.last_status_code == 500)
    )
    response = client.post(f"{page_url(organisation)}/deliveries/{failed.id}/again")
    assert response.status_code == 302
    db.session.expire_all()
    assert (failed.status, failed.attempts) == (DeliveryStatus.PENDING, 0)
    assert sender.deliver_due().sent == 1
    assert len(receiver.received) == 4
    assert audit_actions() == ["webhook_send_again"]
