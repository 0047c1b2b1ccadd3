"""Command-line groups: `flask demo`, `flask users`, `flask outbox`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

demo = AppGroup("demo", help="Load or clear the demonstration data.")
users = AppGroup("users", help="Create, list and promote accounts.")
outbox = AppGroup("outbox", help="Deliver and inspect outgoing email.")


def register(app: Flask) -> None:
    for group in (demo, users, outbox):
        app.cli.add_command(group)


# --- flask demo ----------------------------------------------------------------------------


# --- flask users ---------------------------------------------------------------------------


# --- flask outbox --------------------------------------------------------------------------

_ = click  # the command sections below use click for options and output
