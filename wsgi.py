"""WSGI entry point: `gunicorn wsgi:app`, and what `flask` finds without --app."""

from eventsite import create_app

app = create_app()
