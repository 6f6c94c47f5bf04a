"""End-to-end fixtures: the real app on a live server (SQLite, frozen clock), one headless Chromium, and a `walk`
that opens a fresh browser context per person and screenshots every page under test-output/e2e/<viewport>/."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from werkzeug.serving import make_server

from domain.consultation.demo import load_demo
from domain.services import Services
from engine.clock import FrozenClock
from engine.service import Engine
from engine.settings import Settings
from engine.store import db
from tests.conftest import CONSULTATION, ROOT
from webui import create_app


def shots(name: str) -> Path:
    """Where the screenshots of `name` are kept for people to look at: under $XIESHANG_SHOTS when set, else under
    the system's temporary folder (never a fixed path outside it: a fresh machine may not have one)."""
    return Path(os.environ.get("XIESHANG_SHOTS") or Path(tempfile.gettempdir()) / "xieshang-shots") / name

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
# each pytest-xdist worker its own folder: a walk empties its device's folder when it begins
OUTPUT = ROOT / "test-output" / "e2e" / os.environ.get("PYTEST_XDIST_WORKER", "")
DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}
# Elements sticking out to the right of a phone screen, to name in an overflow failure.
_WIDE = """() => [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .slice(0, 8).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
        ' right=' + Math.round(el.getBoundingClientRect().right))"""


@dataclass(frozen=True)
class LiveServer:
    """Where the app answers, and the engine and clock behind it (the test moves time and fires timers)."""

    url: str
    engine: Engine
    clock: FrozenClock


FIRST_DAY = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def _each_module_starts_on_the_first_day(request):
    """A module's own fixtures (run before any test's, e.g. cases made once for the module) also meet the first day:
    autouse fixtures come first within their scope."""
    if "live_server" in request.fixturenames:
        request.getfixturevalue("live_server").clock.set(FIRST_DAY)
    yield


@pytest.fixture(autouse=True)
def _each_test_starts_on_the_first_day(request):
    """Every test meets the server's clock on its first day, whatever earlier tests' walks did to it (a plan's
    meeting date may not lie in the past, so a scenario's dates hold only from where the clock starts)."""
    if "live_server" in request.fixturenames:
        request.getfixturevalue("live_server").clock.set(FIRST_DAY)
    yield


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The real app on a migrated SQLite file with the demo people and the consultation, in a server thread."""
    folder = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{folder / 'xieshang.db'}"
    db.upgrade(url)
    clock = FrozenClock(FIRST_DAY)
    services = Services.from_url(url, clock)
    engine = services.engine
    with engine.unit_of_work() as session:
        load_demo(session, clock.now())
    engine.deploy([CONSULTATION], actor="owner")
    app = create_app({"SETTINGS": Settings(url, None, folder, ROOT / "processes"), "SERVICES": services,
                      "SECRET_KEY": "e2e",
                      "RATE_LIMITS": {"intake": "50 per 10 minutes", "track": "200 per 10 minutes"}})
    server = make_server("127.0.0.1", 0, app, threaded=True)   # listening once it returns: no waiting needed
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    with urllib.request.urlopen(f"{base}/healthz", timeout=10) as answer:   # fail here, clearly, if it is broken
        assert answer.status == 200
    yield LiveServer(base, engine, clock)
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    engine.sessions.kw["bind"].dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; Playwright never downloads a browser of its own here."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make sysdeps` (installs Debian's chromium and fonts-noto-cjk)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class Walk:
    """One run through the app on one device: a fresh context per person, and numbered full-page screenshots."""

    browser: Browser
    server: LiveServer
    device: str
    folder: Path
    user: str = "anonymous"
    shots: int = 0
    context: BrowserContext | None = None
    page: Page | None = None
    seen: list[str] = field(default_factory=list)

    @property
    def phone(self) -> bool:
        """True on the phone viewport."""
        return self.device == "phone"

    def open(self, user: str = "anonymous") -> Page:
        """A new browser context (no cookies) for `user`; the previous one is closed."""
        self.close()
        self.user = user
        self.context = self.browser.new_context(base_url=self.server.url, locale="zh-CN",
                                                timezone_id="Asia/Shanghai", **DEVICES[self.device])
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        return self.page

    def shot(self, label: str) -> Path:
        """Save the whole page as NNN-<user>-<label>.png; on the phone, the page must not scroll sideways."""
        self.shots += 1
        path = self.folder / f"{self.shots:03d}-{self.user}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.seen.append(path.name)
        if self.phone:   # a mobile browser zooms out to fit wide content, so innerWidth grows with it
            width, inner = self.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            screen = DEVICES["phone"]["viewport"]["width"]
            assert width <= screen + 1 and inner <= screen + 1, \
                f"{self.page.url} is wider than the phone ({width} px, window {inner} px, screen {screen} px): " \
                f"{self.page.evaluate(_WIDE)} (see {path.name})"
        return path

    def close(self) -> None:
        """Close the current context, if any."""
        if self.context is not None:
            self.context.close()
            self.context = self.page = None


@pytest.fixture
def walk(request, browser, live_server) -> Iterator[Walk]:
    """A walk on the device named by the test's parameter; screenshots go to test-output/e2e/[<worker>/]<device>/."""
    device = request.param
    folder = OUTPUT / device
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    run = Walk(browser, live_server, device, folder)
    yield run
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and run.page is not None:
        run.page.screenshot(path=str(folder / f"{run.shots + 1:03d}-{run.user}-FAILED.png"), full_page=True)
    run.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so the `walk` fixture can screenshot a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
