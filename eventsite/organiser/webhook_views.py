"""Workspace views for the organisation's webhooks: add an endpoint (its secret shown to
members), turn one off or on, remove one, read the delivery log and send a delivery again."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from eventsite.errors import DomainError, attach_to_form
from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.organisations.models import Organisation
from eventsite.organiser import access, audit, forms, webhook_forms
from eventsite.organiser.blueprint import bp
from eventsite.timeutil import utcnow
from eventsite.webhooks import services
from eventsite.webhooks.models import WebhookDelivery, WebhookEndpoint

NO_STORE = {"Cache-Control": "no-store"}  # the page shows the endpoints' secrets


def _page(
    organisation: Organisation, form: webhook_forms.WebhookEndpointForm
) -> tuple[str, int, dict[str, str]]:
    return (
        render_template(
            "organiser/webhooks.html",
            organisation=organisation,
            form=form,
            endpoints=services.endpoints_of(organisation),
            deliveries=services.recent_deliveries(organisation),
            labels=webhook_forms.EVENT_TYPE_LABELS,
        ),
        422 if form.errors else 200,
        NO_STORE,
    )


def _endpoint(organisation: Organisation, endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.organisation_id != organisation.id:
        raise NotFound()
    return endpoint


def _back(organisation: Organisation) -> Response:
    return redirect(url_for("organiser.webhooks", organisation_id=organisation.id))


@bp.route("/organisations/<int:organisation_id>/webhooks", methods=["GET", "POST"])
def webhooks(organisation_id: int) -> tuple[str, int, dict[str, str]] | Response:
    organisation = access.load_organisation(organisation_id)
    form = webhook_forms.WebhookEndpointForm()
    if form.validate_on_submit():
        now = utcnow()
        try:
            endpoint = services.create_endpoint(
                organisation, url=form.url.data, event_types=form.event_types.data, now=now
            )
        except DomainError as err:
            attach_to_form(form, err)
        else:
            audit.record(
                "webhook_create",
                organisation_id=organisation.id,
                actor=current_user,
                now=now,
                url=endpoint.url,
                event_types=endpoint.event_types,
            )
            db.session.commit()
            flash(
                _("The endpoint is added. Use its secret to check the signature of each call."),
                "success",
            )
            return _back(organisation)
    return _page(organisation, form)


@bp.post("/organisations/<int:organisation_id>/webhooks/<int:endpoint_id>/switch")
def switch_webhook(organisation_id: int, endpoint_id: int) -> Response:
    """Turn the endpoint off (nothing is queued for it) or on again."""
    organisation = access.load_organisation(organisation_id)
    endpoint = _endpoint(organisation, endpoint_id)
    if forms.ActionForm().validate_on_submit():
        services.set_active(endpoint, not endpoint.is_active)
        audit.record(
            "webhook_enable" if endpoint.is_active else "webhook_disable",
            organisation_id=organisation.id,
            actor=current_user,
            now=utcnow(),
            url=endpoint.url,
        )
        db.session.commit()
        if endpoint.is_active:
            flash(_("The endpoint is on again."), "success")
        else:
            flash(_("The endpoint is off: nothing is sent to it until you turn it on."), "success")
    return _back(organisation)


@bp.post("/organisations/<int:organisation_id>/webhooks/<int:endpoint_id>/remove")
def remove_webhook(organisation_id: int, endpoint_id: int) -> Response:
    organisation = access.load_organisation(organisation_id)
    endpoint = _endpoint(organisation, endpoint_id)
    if forms.ActionForm().validate_on_submit():
        url = endpoint.url
        services.delete_endpoint(endpoint)
        audit.record(
            "webhook_remove",
            organisation_id=organisation.id,
            actor=current_user,
            now=utcnow(),
            url=url,
        )
        db.session.commit()
        flash(_("The endpoint is removed, with its delivery log."), "success")
    return _back(organisation)


@bp.post("/organisations/<int:organisation_id>/webhooks/deliveries/<int:delivery_id>/again")
def send_webhook_again(organisation_id: int, delivery_id: int) -> Response:
    organisation = access.load_organisation(organisation_id)
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint.organisation_id != organisation.id:
        raise NotFound()
    if forms.ActionForm().validate_on_submit():
        now = utcnow()
        try:
            services.send_again(delivery, now)
        except DomainError as err:
            flash(str(err), "error")
        else:
            audit.record(
                "webhook_send_again",
                organisation_id=organisation.id,
                actor=current_user,
                now=now,
                url=delivery.endpoint.url,
                webhook_id=delivery.webhook_id,
            )
            db.session.commit()
            flash(_("The delivery is queued again."), "success")
    return _back(organisation)
