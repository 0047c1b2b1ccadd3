"""Command-line groups: `flask demo`, `flask users`, `flask outbox`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import format_timedelta

from eventsite.i18n import gettext as _
from eventsite.i18n import ngettext

demo = AppGroup("demo", help="Load or clear the demonstration data.")
users = AppGroup("users", help="Create, list and promote accounts.")
outbox = AppGroup("outbox", help="Deliver and inspect outgoing email.")
webhooks = AppGroup("webhooks", help="Send the organisations' webhooks.")


def register(app: Flask) -> None:
    for group in (demo, users, outbox, webhooks, registrations, organisations):
        app.cli.add_command(group)


# --- flask demo ----------------------------------------------------------------------------


@demo.command("load")
def demo_load() -> None:
    """Create the demonstration organisations, topics, events, speakers and registrations
    (idempotent)."""
    from eventsite.demo import load
    from eventsite.extensions import db
    from eventsite.timeutil import utcnow

    summary = load.load_demo(utcnow())
    db.session.commit()
    click.echo(summary.describe())


@demo.command("clear")
def demo_clear() -> None:
    """Remove exactly what `flask demo load` created, and nothing else."""
    from eventsite.demo import clear
    from eventsite.extensions import db

    removed = clear.clear_demo()
    db.session.commit()
    left = clear.demo_counts()
    click.echo(
        ngettext(
            "Removed %(num)d demonstration row (events, organisations, topics, speakers).",
            "Removed %(num)d demonstration rows (events, organisations, topics, speakers).",
            removed,
        )
    )
    if any(left.values()):
        kept = ", ".join(f"{n} {what}" for what, n in left.items() if n)
        click.echo(_("Kept %(kept)s: other events still use them.", kept=kept))


# --- flask users ---------------------------------------------------------------------------


@users.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The person's name as shown on the site.")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of asking.",
)
def users_create(email: str, name: str, admin: bool, password_stdin: bool) -> None:
    """Create an account (counted as verified)."""
    import sys

    from eventsite.accounts import services as account_services
    from eventsite.errors import DomainError
    from eventsite.extensions import db
    from eventsite.timeutil import utcnow

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
    try:
        user = account_services.create_account(
            name=name, email=email, password=password, now=utcnow(), verified=True
        )
    except DomainError as err:
        raise click.ClickException(str(err)) from err
    user.is_admin = admin
    db.session.commit()
    if admin:
        click.echo(_("Created administrator %(email)s.", email=user.email))
    else:
        click.echo(_("Created account %(email)s.", email=user.email))


@users.command("grant")
@click.argument("email")
@click.option("--organisation", "organisation_slug", required=True, help="Organisation slug.")
def users_grant(email: str, organisation_slug: str) -> None:
    """Make an account a member (organiser) of an organisation."""
    from eventsite.errors import DomainError
    from eventsite.extensions import db
    from eventsite.organisations import services as organisation_services

    try:
        membership = organisation_services.grant_membership(email, organisation_slug)
    except DomainError as err:
        raise click.ClickException(str(err)) from err
    db.session.commit()
    click.echo(
        _(
            "%(email)s is now an organiser of %(organisation)s.",
            email=membership.user.email,
            organisation=membership.organisation.slug,
        )
    )


@users.command("list")
def users_list() -> None:
    """List accounts with their roles and organisations."""
    from sqlalchemy.orm import selectinload

    from eventsite.accounts import services as account_services
    from eventsite.accounts.models import User
    from eventsite.extensions import db
    from eventsite.organisations.models import Membership

    stmt = account_services.list_users().options(
        selectinload(User.memberships).joinedload(Membership.organisation)
    )
    rows = db.session.scalars(stmt).all()
    if not rows:
        click.echo(_("No accounts yet."))
        return
    for user in rows:
        organisations = ",".join(m.organisation.slug for m in user.memberships) or "-"
        verified = "verified" if user.is_verified else "unverified"
        click.echo(
            f"{user.email}\t{user.name}\t{'+'.join(user.roles)}\t{verified}\t{organisations}"
        )


# --- flask outbox --------------------------------------------------------------------------


@outbox.command("send")
@click.option("--limit", type=click.IntRange(min=1), help="Deliver at most this many.")
def outbox_send(limit: int | None) -> None:
    """Deliver every message that is due now, print the counts and exit."""
    from eventsite.mail import sender

    try:
        report = sender.deliver_due(limit=limit)
    except sender.MailConfigError as err:
        raise click.ClickException(str(err)) from err
    click.echo(_("Outbox: %(report)s.", report=report))


@outbox.command("work")
@click.option(
    "--interval",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="Seconds to wait when nothing is due.",
)
@click.option("--once", is_flag=True, help="Run one round and stop.")
@click.option("--max-loops", type=click.IntRange(min=1), help="Stop after this many rounds.")
def outbox_work(interval: float, once: bool, max_loops: int | None) -> None:
    """Deliver email until stopped (SIGTERM or Ctrl-C finish the current message first).
    Each round also releases the registrations' expired holds, queues the reminders and
    "registration is open" alerts that are due and sends the due webhooks (any number of
    workers may run at once: nothing is sent twice)."""
    from eventsite.mail import sender, worker
    from eventsite.registration import alerts, jobs
    from eventsite.timeutil import utcnow
    from eventsite.webhooks import sender as webhook_sender

    def release_holds() -> None:
        released = jobs.release_expired_holds(utcnow())
        if released:
            click.echo(_released(released))

    def send_reminders() -> None:
        queued = jobs.send_reminders(utcnow())
        if queued:
            click.echo(ngettext("Queued %(num)d reminder.", "Queued %(num)d reminders.", queued))

    def send_opening_alerts() -> None:
        queued = alerts.send_opening_alerts(utcnow())
        if queued:
            click.echo(
                ngettext(
                    "Queued %(num)d registration-opens alert.",
                    "Queued %(num)d registration-opens alerts.",
                    queued,
                )
            )

    def send_webhooks() -> None:
        report = webhook_sender.deliver_due(limit=current_app.config["OUTBOX_BATCH_SIZE"])
        if report.total:
            click.echo(_("Webhooks: %(report)s.", report=report))

    try:
        rounds = worker.run_worker(
            interval=interval,
            max_loops=1 if once else max_loops,
            echo=click.echo,
            jobs=[release_holds, send_reminders, send_opening_alerts, send_webhooks],
        )
    except sender.MailConfigError as err:
        raise click.ClickException(str(err)) from err
    click.echo(
        ngettext(
            "Outbox worker stopped after %(num)d round.",
            "Outbox worker stopped after %(num)d rounds.",
            rounds,
        )
    )


@webhooks.command("send")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many.")
def webhooks_send(limit: int | None) -> None:
    """Send every webhook delivery that is due now, print the counts and exit."""
    from eventsite.webhooks import sender

    click.echo(_("Webhooks: %(report)s.", report=sender.deliver_due(limit=limit)))


@outbox.command("status")
@click.option(
    "--show",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="How many failed and retrying messages to list.",
)
def outbox_status(show: int) -> None:
    """Counts by status, the age of the oldest pending message, and recent failures."""
    from eventsite.mail import services
    from eventsite.timeutil import utcnow

    summary = services.summarise_outbox(show=show)
    now = utcnow()
    click.echo("  ".join(f"{status}: {n}" for status, n in summary.counts.items()))
    if summary.unqueued:
        click.echo(
            ngettext(
                "%(num)d more written with its registration, moved to the outbox by the next "
                "round of `flask outbox send|work`.",
                "%(num)d more written with their registrations, moved to the outbox by the next "
                "round of `flask outbox send|work`.",
                summary.unqueued,
            )
        )
    if summary.oldest_pending_at is not None:
        age = format_timedelta(now - summary.oldest_pending_at, add_direction=True)
        click.echo(_("Oldest pending message: queued %(age)s.", age=age))
    if summary.failed:
        click.echo(_("Failed (`flask outbox retry ID` sends one again):"))
        for row in summary.failed:
            click.echo(
                ngettext(
                    "  #%(id)d to %(address)s [%(category)s] %(subject)r, %(num)d attempt: "
                    "%(error)s",
                    "  #%(id)d to %(address)s [%(category)s] %(subject)r, %(num)d attempts: "
                    "%(error)s",
                    row.attempts,
                    id=row.id,
                    address=row.to_address,
                    category=row.category or "-",
                    subject=row.subject,
                    error=row.last_error,
                )
            )
    if summary.retrying:
        click.echo(_("Retrying:"))
        for row in summary.retrying:
            wait = row.next_attempt_at - now
            when = (
                format_timedelta(wait, add_direction=True) if wait.total_seconds() > 0 else _("now")
            )
            click.echo(
                ngettext(
                    "  #%(id)d to %(address)s, %(num)d attempt, next %(when)s: %(error)s",
                    "  #%(id)d to %(address)s, %(num)d attempts, next %(when)s: %(error)s",
                    row.attempts,
                    id=row.id,
                    address=row.to_address,
                    when=when,
                    error=row.last_error,
                )
            )


@outbox.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-failed", is_flag=True, help="Every failed message.")
def outbox_retry(ids: tuple[int, ...], all_failed: bool) -> None:
    """Put failed messages back in the queue (with a fresh count of attempts)."""
    from eventsite.extensions import db
    from eventsite.mail import services
    from eventsite.timeutil import utcnow

    if not ids and not all_failed:
        raise click.UsageError(_("Give message ids, or --all-failed."))
    count = services.retry_messages(None if all_failed else list(ids), now=utcnow())
    db.session.commit()
    click.echo(
        ngettext(
            "%(num)d failed message back in the queue.",
            "%(num)d failed messages back in the queue.",
            count,
        )
    )


@outbox.command("test-send")
@click.argument("email")
def outbox_test_send(email: str) -> None:
    """Queue a test message to EMAIL and deliver it now, to check the SMTP settings."""

    from eventsite import i18n
    from eventsite.extensions import db
    from eventsite.mail import sender, services

    site = current_app.config["SITE_NAME"]
    try:
        message = services.queue_email(
            email,
            _("Test message from %(site)s", site=site),
            "test_message",
            language=i18n.DEFAULT,
            category="test",
        )
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="EMAIL") from err
    db.session.commit()
    server = current_app.config.get("MAIL_SERVER")
    if server:
        via = f"{server}:{current_app.config['MAIL_PORT']}"
        click.echo(
            _(
                "Sending %(id)s to %(email)s via %(server)s…",
                id=message.message_id,
                email=email,
                server=via,
            )
        )
    else:
        click.echo(
            _("Sending %(id)s to %(email)s via the console…", id=message.message_id, email=email)
        )
    try:
        report = sender.deliver_messages([message.id])
    except sender.MailConfigError as err:
        raise click.ClickException(str(err)) from err
    db.session.refresh(message)
    if report.sent:
        click.echo(_("Accepted by the server."))
        return
    if report.retried:
        raise click.ClickException(
            _("Not sent (kept in the queue for retries): %(error)s", error=message.last_error)
        )
    raise click.ClickException(_("Not sent (marked failed): %(error)s", error=message.last_error))


def _released(count: int) -> str:
    return ngettext("Released %(num)d expired hold.", "Released %(num)d expired holds.", count)


# --- flask registrations -------------------------------------------------------------------

registrations = AppGroup(
    "registrations",
    help="Approve or reject registrations; release expired holds; send reminders.",
)


def _decide_registration(registration_id: int, approve: bool) -> None:
    from eventsite import database
    from eventsite.extensions import db
    from eventsite.registration import rules as registration_rules
    from eventsite.registration import services as registration_services
    from eventsite.registration.models import Registration
    from eventsite.timeutil import utcnow

    database.lock_for_write()
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise click.ClickException(_("No registration with id %(id)d.", id=registration_id))
    decide = (
        registration_services.approve_registration
        if approve
        else registration_services.reject_registration
    )
    try:
        decide(registration, utcnow())
    except registration_rules.RegistrationError as err:
        db.session.rollback()
        raise click.ClickException(str(err)) from None
    db.session.commit()
    click.echo(
        _(
            "Registration %(id)d of %(email)s for %(event)s: %(status)s.",
            id=registration.id,
            email=registration.user.email,
            event=registration.event.slug,
            status=registration.status,
        )
    )


@registrations.command("approve")
@click.argument("registration_id", type=int)
def registrations_approve(registration_id: int) -> None:
    """Confirm a registration awaiting approval (the person is emailed)."""
    _decide_registration(registration_id, approve=True)


@registrations.command("reject")
@click.argument("registration_id", type=int)
def registrations_reject(registration_id: int) -> None:
    """Decline a registration awaiting approval (the person is emailed)."""
    _decide_registration(registration_id, approve=False)


@registrations.command("expire-holds")
def registrations_expire_holds() -> None:
    """Release the places held for an email confirmation that never came (the outbox
    worker does this every round too); the waiting lists move up."""
    from eventsite.registration import jobs
    from eventsite.timeutil import utcnow

    click.echo(_released(jobs.release_expired_holds(utcnow())))


@registrations.command("send-reminders")
def registrations_send_reminders() -> None:
    """Queue the reminders and the "registration is open" alerts that are due (the outbox
    worker does this every round too; for cron, follow it with `flask outbox send`). Safe
    to run alongside workers: each message is claimed once."""
    from eventsite.registration import alerts, jobs
    from eventsite.timeutil import utcnow

    now = utcnow()
    queued = jobs.send_reminders(now)
    opened = alerts.send_opening_alerts(now)
    click.echo(ngettext("Queued %(num)d reminder.", "Queued %(num)d reminders.", queued))
    click.echo(
        ngettext(
            "Queued %(num)d registration-opens alert.",
            "Queued %(num)d registration-opens alerts.",
            opened,
        )
    )


@registrations.command("list")
@click.argument("event_slug")
@click.option("--status", default=None, help="Only this status (e.g. pending).")
def registrations_list(event_slug: str, status: str | None) -> None:
    """List an event's registrations: id, status, email, registered at."""
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from eventsite.events.models import Event
    from eventsite.extensions import db
    from eventsite.registration.models import Registration

    event = db.session.scalar(select(Event).where(Event.slug == event_slug))
    if event is None:
        raise click.ClickException(_("No event with slug %(slug)r.", slug=event_slug))
    stmt = (
        select(Registration)
        .options(joinedload(Registration.user))
        .where(Registration.event_id == event.id)
    )
    if status:
        stmt = stmt.where(Registration.status == status)
    for registration in db.session.scalars(stmt.order_by(Registration.created_at, Registration.id)):
        click.echo(
            f"{registration.id}\t{registration.status}\t{registration.user.email}\t"
            f"{registration.created_at:%Y-%m-%d %H:%M}"
        )


# --- flask organisations -------------------------------------------------------------------

organisations = AppGroup("organisations", help="Create organisations (the organiser workspace).")


@organisations.command("create")
@click.argument("name")
@click.option("--slug", default="", help="Address of the organisation (default: from the name).")
@click.option("--website", default="", help="The organisation's website.")
@click.option("--member", "members", multiple=True, help="Email of a member (repeatable).")
def organisations_create(name: str, slug: str, website: str, members: tuple[str, ...]) -> None:
    """Create an organisation; existing accounts become members, others get an invitation.

    The command line is trusted: existing accounts join without an invitation to accept.
    At least one must already have an account: an organisation starts with a member."""
    from eventsite.errors import DomainError
    from eventsite.extensions import db
    from eventsite.organisations import services as organisation_services
    from eventsite.timeutil import utcnow

    now = utcnow()
    try:
        organisation = organisation_services.create_organisation(
            {"name": name, "slug": slug, "website": website or None}, None, now
        )
        outcomes = [
            (email, organisation_services.admit_or_invite(organisation, email, now))
            for email in members
        ]
    except DomainError as err:
        db.session.rollback()
        raise click.ClickException(str(err)) from err
    if not any(outcome == "added" for _email, outcome in outcomes):
        # An organisation starts with a member: invitations alone leave it with none.
        db.session.rollback()
        raise click.ClickException(
            _(
                "Give at least one --member who already has an account "
                "(create one with `flask users create`)."
            )
        )
    db.session.commit()
    click.echo(
        _(
            "Created organisation %(slug)s (id %(id)d).",
            slug=organisation.slug,
            id=organisation.id,
        )
    )
    said = {
        "added": _("added"),
        "already": _("already a member"),
        "invited": _("invited"),
        "reinvited": _("invited again"),
    }
    for email, outcome in outcomes:
        click.echo(f"  {email}: {said[outcome]}")
