"""eventsite: announce forums and conferences, register people, carry them into calendars."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from flask.logging import default_handler
from werkzeug.middleware.proxy_fix import ProxyFix

from eventsite import (
    compression,
    config,
    database,
    errors,
    fragments,
    i18n,
    page_cache,
    security_headers,
    templating,
)
from eventsite.extensions import babel, csrf, db, limiter, login_manager, migrate
from eventsite.mail import after_request as mail_delivery

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    app.jinja_environment = templating.SharedGlobalsEnvironment  # before jinja_env is made
    config.load_config(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_page_cache(app)  # inside the proxy fix: the fast path sees the client's host
    i18n.init_app(app)  # after the page cache: a `?lang=` choice's cookie is never kept
    compression.init_app(app)  # after them both: the last after-request work of all
    errors.register_error_handlers(app)
    security_headers.register_security_headers(app)
    templating.register_template_helpers(app)
    app.jinja_env.add_extension(fragments.KeptFragments)  # {% kept %}
    mail_delivery.register_after_request_delivery(app)
    register_cli(app)
    register_proxy_fix(app)  # outermost: what runs inside sees the client's scheme and host
    return app


def register_proxy_fix(app: Flask) -> None:
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    database.configure_engine(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    limiter.init_app(app)
    _show_rate_limit_storage_problems()
    login_manager.init_app(app)
    from eventsite.accounts import auth

    auth.configure_login(app)


def _show_rate_limit_storage_problems() -> None:
    """Flask-Limiter logs "storage unreachable - falling back to in-memory storage" to a
    logger with only a NullHandler: without logging configured the warning would vanish.
    Send it where Flask sends the app's own messages (gunicorn's error log)."""
    chain = [limiter.logger, logging.getLogger()]
    if not any(not isinstance(h, logging.NullHandler) for lg in chain for h in lg.handlers):
        limiter.logger.addHandler(default_handler)


def register_blueprints(app: Flask) -> None:
    database.register_url_converters(app)  # before the first route
    from eventsite.accounts.views import bp as accounts_bp
    from eventsite.announcements.views import bp as announcements_bp
    from eventsite.api import core as api_core
    from eventsite.api import organiser_writes  # noqa: F401 (adds its routes to the bp)
    from eventsite.api.docs import bp as api_docs_bp
    from eventsite.api.organiser import bp as organiser_api_bp
    from eventsite.api.public import bp as public_api_bp
    from eventsite.events.views import bp as events_bp
    from eventsite.feeds.views import bp as feeds_bp
    from eventsite.health import bp as health_bp
    from eventsite.images import storage as image_storage
    from eventsite.images.views import bp as images_bp
    from eventsite.organiser.views import bp as organiser_bp
    from eventsite.registration import alert_views  # noqa: F401 (adds its routes to the bp)
    from eventsite.registration.views import bp as registration_bp
    from eventsite.sharing.views import bp as sharing_bp

    for blueprint in (
        health_bp,
        feeds_bp,  # before events: /events/<slug>.ics must win over /events/<slug>
        events_bp,
        accounts_bp,
        registration_bp,
        organiser_bp,
        sharing_bp,
        announcements_bp,
        images_bp,
    ):
        app.register_blueprint(blueprint)
    image_storage.init_app(app)
    # The JSON API: its OpenAPI document is generated from the blueprints flask-smorest sees.
    api_core.init_app(app, [public_api_bp, organiser_api_bp])
    app.register_blueprint(api_docs_bp)


def register_page_cache(app: Flask) -> None:
    from eventsite import catalogue

    # Every cached page shows the catalogue: its version is part of every key. (The event
    # page's places left are added by the registration package.)
    page_cache.init_app(app, stamp=catalogue.stamp_columns)


def register_cli(app: Flask) -> None:
    from eventsite import cli

    cli.register(app)
