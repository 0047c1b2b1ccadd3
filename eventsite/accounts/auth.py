"""Flask-Login wiring: users are loaded by their session token, not their id."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from eventsite.accounts.models import User
from eventsite.extensions import db, login_manager


def configure_login(app: Flask) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load_user(token: str) -> User | None:
        return db.session.scalar(select(User).where(User.session_token == token))
