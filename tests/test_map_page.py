"""The map page in a real headless browser (Debian's chromium driven by Playwright): it loads
with no request leaving the server, draws the network, and draws the routes of a query."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from service import Settings, create_app

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service on the bundled network, served by uvicorn in a thread on a loopback port."""
    database = tmp_path_factory.mktemp("map") / "jobs.sqlite3"
    app = create_app(Settings(database_path=database))
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", ws="none", http="httptools", lifespan="on")
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)
    sock.close()


@pytest.fixture(scope="module")
def browser_page(base_url: str) -> Iterator[tuple[Page, list[str], list[str]]]:
    """A page that may only talk to the service: any other request is recorded and aborted."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        outside: list[str] = []
        errors: list[str] = []

        def only_local(route: object) -> None:
            request = route.request  # type: ignore[attr-defined]
            if request.url.startswith(base_url):
                route.continue_()  # type: ignore[attr-defined]
            else:
                outside.append(request.url)
                route.abort()  # type: ignore[attr-defined]

        page.route("**/*", only_local)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda message: errors.append(message.text) if message.type == "error" else None,
        )
        page.goto(f"{base_url}/")
        page.wait_for_selector("body[data-ready=true]", timeout=20_000)
        yield page, outside, errors
        browser.close()


def test_page_draws_the_network_offline(browser_page: tuple[Page, list[str], list[str]]) -> None:
    page, outside, errors = browser_page
    assert page.locator("circle.node").count() > 100
    assert page.locator("line.link").count() > 100
    assert page.locator("#places option").count() > 100
    assert outside == []
    assert errors == []


def test_query_draws_routes_on_the_map(browser_page: tuple[Page, list[str], list[str]]) -> None:
    page, outside, errors = browser_page
    page.fill("#origin", "Xi'an")
    page.fill("#destination", "Tashkent")
    page.fill("#teu", "4")
    page.fill("#ready", "2026-12-01")
    page.fill("#alternatives", "2")
    page.click("#submit")
    page.wait_for_selector("#map path.route", timeout=20_000)
    paths = page.locator("#map path.route")
    assert paths.count() >= 1
    d = paths.last.get_attribute("d") or ""
    assert d.startswith("M") and d.count("L") >= 2
    box = paths.last.bounding_box()
    assert box is not None and box["width"] > 20  # drawn across the map, not a dot
    items = page.locator("#routes li")
    assert items.count() == paths.count()
    first = items.first.inner_text()
    assert "Best route" in first and "$" in first and "days" in first
    assert page.locator("#routes li").first.locator("tbody tr").count() >= 3
    assert outside == []
    assert errors == []


def test_pieces_and_unknown_place_suggestions(
    browser_page: tuple[Page, list[str], list[str]],
) -> None:
    page, _, _ = browser_page
    page.check("input[name=cargo-kind][value=pieces]")
    assert page.locator("#cargo-pieces").is_visible()
    page.fill("#origin", "Lanzhou")
    page.fill("#destination", "Tashkenq")
    page.click("#submit")
    page.wait_for_selector("#status .suggestion", timeout=20_000)
    assert "destination" in page.locator("#status").inner_text()
    assert page.locator("#map path.route").count() == 0
    page.locator("#status .suggestion").first.click()
    assert page.input_value("#destination") != "Tashkenq"
    page.click("#submit")
    page.wait_for_selector("#map path.route", timeout=20_000)
