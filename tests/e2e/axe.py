"""axe-core in the browser tests: the copy bundled in axe-playwright-python (no CDN), run
in a context opened with `bypass_csp=True` (the site's CSP refuses injected scripts)."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

FAILING_IMPACTS = {"serious", "critical"}
AXE = Axe()


def axe_problems(page: Page) -> list[str]:
    """The serious and critical violations axe finds on the page as it is now, one line
    each: rule, impact, the elements (CSS selectors) and the help text."""
    results = AXE.run(page, options={"resultTypes": ["violations"]})
    problems = []
    for violation in results.response["violations"]:
        if violation["impact"] not in FAILING_IMPACTS:
            continue
        targets = [", ".join(map(str, node["target"])) for node in violation["nodes"]][:5]
        problems.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} — {targets}"
        )
    return problems
