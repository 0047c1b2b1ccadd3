"""Every form with files where it expects text: what a robot, or a tampered form, sends.
Flask-WTF hands request.files to every form, so a text field may hold a FileStorage."""

from __future__ import annotations

import pytest

from .harness import Site, run_all, run_file_target
from .test_public_forms import PUBLIC_TARGETS
from .test_workspace_forms import WORKSPACE_TARGETS

pytestmark = pytest.mark.fuzz


def test_no_form_fails_on_files_in_its_fields(site: Site) -> None:
    if site.backend != "sqlite":
        pytest.skip("files are refused or taken before the database: SQLite is enough")
    run_all(site, PUBLIC_TARGETS + WORKSPACE_TARGETS, run_file_target)
