"""The long-lived sender behind `flask outbox work`: deliver, wait, repeat until told to stop."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from flask import current_app

from eventsite.extensions import db
from eventsite.i18n import gettext as _
from eventsite.mail import sender

log = logging.getLogger("eventsite.mail")


def run_worker(
    *,
    interval: float = 2.0,
    max_loops: int | None = None,
    echo: Callable[[str], None] = print,
    stop: threading.Event | None = None,
    jobs: Sequence[Callable[[], None]] = (),
) -> int:
    """Deliver due mail in rounds of OUTBOX_BATCH_SIZE until SIGTERM/SIGINT (or `stop`).

    `jobs` run before each round's delivery (the mail they queue goes out in it): periodic
    work of the packages above this one, handed in by the command (`flask outbox work`),
    since mail may not import them. A job that fails is logged like a failed round.

    A signal only sets a flag: the message being sent is finished and recorded, then the
    loop ends. A round that hits an error (database gone, say) is logged and tried again
    after `interval`; the messages stay in the outbox meanwhile. Returns the rounds run.
    """
    stop = stop or threading.Event()
    batch = int(current_app.config["OUTBOX_BATCH_SIZE"])
    previous: dict[int, object] = {}

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        echo(
            _(
                "Received %(signal)s: stopping after the current message.",
                signal=signal.Signals(signum).name,
            )
        )
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, request_stop)
    rounds = 0
    try:
        while not stop.is_set():
            busy = False
            for job in jobs:
                try:
                    job()
                except Exception:
                    log.exception("Worker job %s failed; trying again next round", job)
                    db.session.rollback()
            try:
                report = sender.deliver_due(limit=batch)
            except sender.MailConfigError:
                raise
            except Exception:
                log.exception("Outbox round failed; trying again in %s s", interval)
                db.session.rollback()
            else:
                busy = report.total >= batch  # more may be due: no pause
                if report.total:
                    echo(_("Outbox: %(report)s.", report=report))
            finally:
                db.session.remove()  # hand the connection back between rounds
            rounds += 1
            if max_loops is not None and rounds >= max_loops:
                break
            if not busy:
                stop.wait(interval)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return rounds
