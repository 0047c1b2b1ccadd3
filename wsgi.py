"""WSGI entry point: `gunicorn wsgi:app`, and what `flask` finds without --app."""

import gc

from eventsite import create_app

app = create_app()

# What starting took (~300,000 objects: modules, models, templates, translations) lives as
# long as the process: moved out of the collector's sight, so that its full collections
# walk what requests left behind, not all of that again (a ~100 ms pause every few thousand
# requests, 3-4 % of a rendered page's CPU, measured in process).
gc.freeze()
