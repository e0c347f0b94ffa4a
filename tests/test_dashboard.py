"""The dashboard in a real browser (Debian's Chromium, headless, driven by Playwright)
against the real app over real HTTP, on a store filled by a real airline replay.

Skipped, saying why, where /usr/bin/chromium is missing (``.ci/run`` installs it). The
screenshots go to ``screenshots/`` (ignored by git): the main view and an incident."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crisiswatch.api.config import ApiConfig, SecurityConfig
from crisiswatch.config import runtime
from crisiswatch.detectors.types import Incident
from crisiswatch.response import lifecycle
from crisiswatch.response.lifecycle import Context
from crisiswatch.response.staffing import StaffingConfig
from crisiswatch.store import Store, connect
from tests.conftest import LiveAPI, replay, settings_for
from tests.helpers.activation import incident

pytestmark = pytest.mark.slow  # see pyproject's markers

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not CHROMIUM.exists():
    pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM} (Debian: apt-get install "
                "chromium; .ci/run installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests skipped: the "
                               "playwright package is missing (pip install -e '.[test]')")


class Page:
    """A browser page that records what would show in the console as an error."""

    def __init__(self, browser: Any, base: str) -> None:
        self.base = base
        self.page = browser.new_page(viewport={"width": 1440, "height": 900})
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def open(self, brand: str = "Delta") -> Any:
        self.page.goto(f"{self.base}/#brand={brand}")
        self.page.wait_for_selector("body[data-loaded=true]", timeout=10_000)
        self.page.wait_for_selector("#live.on", timeout=10_000)
        return self.page


@pytest.fixture(scope="module")
def dash_store(redis_server: Any, airline_jsonl: Path) -> Store:
    """The airline replay in a prefix of its own: these tests write (acknowledge, push)."""
    prefix = f"dash{uuid.uuid4().hex[:8]}"
    replay(settings_for(prefix), [airline_jsonl], redis_server.url)
    return Store(connect(redis_server.url), prefix)


def serve(store: Store, security: SecurityConfig) -> LiveAPI:
    """The app as ``crisiswatch run`` makes it: playbooks attached, the given guard."""
    settings = settings_for(store.p)
    return LiveAPI(store, ApiConfig(security=security, playbooks=runtime.playbooks(settings),
                                    staffing=runtime.staffing(settings)), key=False)


@pytest.fixture(scope="module")
def base_url(dash_store: Store) -> Iterator[str]:
    # The demo's guard, rate limits included: the page must live within them.
    with serve(dash_store, SecurityConfig()) as api:
        yield str(api.base_url).rstrip("/")


@pytest.fixture(scope="module")
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def tab(browser: Any, base_url: str) -> Iterator[Page]:
    page = Page(browser, base_url)
    yield page
    page.page.close()


@pytest.fixture(scope="module")
def operator_key(dash_store: Store) -> str:
    token, _ = dash_store.api_keys.create("dashboard-test", ["read", "operate"])
    return token


FLEEK = (1424714400, 1424725200)  # 2015-02-23 10:00-13:00 -08:00: "our fleet's on fleek"


def fleek_incident(api: httpx.Client) -> dict:
    (found,) = [a for a in api.get("/alerts", params={"brand": "Delta"}).json()
                if a["first_window"] < FLEEK[1] and a["last_window"] + a["window_s"] > FLEEK[0]]
    return found


def test_the_page_shows_the_replay_and_the_fleek_spike_marked(tab: Page,
                                                             api: httpx.Client) -> None:
    fleek = fleek_incident(api)  # JetBlue's "our fleet's on fleek"
    page = tab.open()
    assert page.locator("#brand").input_value() == "Delta"
    listed = page.locator("#incident-list > li").evaluate_all("ls => ls.map(l => l.dataset.id)")
    newest_first = sorted(api.get("/alerts", params={"brand": "Delta"}).json(),
                          key=lambda a: -a["first_window"])
    assert listed == [a["id"] for a in newest_first]
    item = page.locator(f"#incident-list > li[data-id='{fleek['id']}']")
    assert fleek["severity"] in item.inner_text().lower() and "resolved" in item.inner_text()
    assert fleek["explanation"]["summary"] in item.inner_text()
    assert "no response clock" in item.inner_text()  # the SLA clock: none after a replay
    assert page.locator(f"#volume-chart rect[data-incident='{fleek['id']}']").count() == 1
    assert page.locator("#volume-chart circle.anomaly").count() >= 1
    assert page.locator("#pipeline").get_attribute("data-read") == "14640"
    assert "14,640" in page.locator("#pipeline").inner_text()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-main.png"))

    item.locator("button").click()
    dialog = page.locator("dialog#detail")
    page.wait_for_selector("#detail-chart circle.anomaly", state="attached", timeout=10_000)
    assert dialog.evaluate("d => d.open")
    marks = [float(s) for s in page.locator("#detail-chart circle.anomaly")
             .evaluate_all("cs => cs.map(c => c.dataset.start)")]
    inside = [t for t in marks if fleek["first_window"] <= t <= fleek["last_window"]]
    assert len(inside) >= 3 and inside == marks  # the spike, and only the spike, marked
    text = dialog.inner_text()
    why = fleek["explanation"]
    figures = page.locator("dl.figures").first.inner_text()
    assert str(why["observed"]) in figures and f"{why['expected']:.1f}" in figures
    assert "#fleek" in text  # the hashtags with their lift ...
    assert all(f"#{t['tag']}" in text for t in why["hashtags"])
    assert all(m["text"] in text for m in why["examples"][:3])  # ... representative posts
    page.wait_for_selector("#detail-staffing table", timeout=10_000)
    assert "extra agent" in page.locator("#detail-staffing").inner_text()
    assert "Nobody has acted" in text  # the audit trail, empty after a replay
    page.screenshot(path=str(SCREENSHOTS / "dashboard-incident.png"))
    assert tab.errors == []


def test_acknowledge_activate_resolve_from_the_page_go_through_the_api(
        tab: Page, api: httpx.Client, operator_key: str) -> None:
    fleek = fleek_incident(api)
    target = next(a for a in api.get("/alerts", params={"brand": "Delta"}).json()
                  if a["id"] != fleek["id"])  # the fleek one stays untouched for the others
    page = tab.open()
    page.locator(f"#incident-list li[data-id='{target['id']}'] button").click()
    page.wait_for_selector("#detail-state")
    page.fill("#actor", "ana")
    page.fill("#note", "on it")
    page.click("#act-ack")
    page.wait_for_function("document.getElementById('act-status').textContent.startsWith"
                           "('Not done')")
    assert "API key with scope 'operate'" in page.locator("#act-status").inner_text()
    assert [e for e in tab.errors if "401" not in e] == []  # the refusal, and nothing else
    tab.errors.clear()
    assert api.get(f"/alerts/{target['id']}").json()["state"] == target["state"]

    page.fill("#apikey", operator_key)
    page.locator("#apikey").dispatch_event("change")  # loads the playbooks it may activate
    page.click("#act-ack")
    page.wait_for_function("document.getElementById('detail-state').textContent "
                           "=== 'acknowledged'")
    stored = api.get(f"/alerts/{target['id']}").json()
    assert stored["state"] == "acknowledged" and stored["sla"]["acknowledged_at"]
    assert (stored["audit"][-1]["actor"], stored["audit"][-1]["action"],
            stored["audit"][-1]["note"]) == ("ana", "acknowledged", "on it")
    item = page.locator(f"#incident-list li[data-id='{target['id']}']")
    assert "acknowledged" in item.inner_text()

    page.wait_for_function("document.querySelectorAll('#playbook option[value]').length > 1")
    page.select_option("#playbook", "pr-legal-critical")
    page.click("#act-activate")
    page.wait_for_function("document.getElementById('detail-body').textContent"
                           ".includes('pr-legal-critical (manual, by ana')")
    page.click("#act-resolve")
    page.wait_for_function("document.getElementById('detail-state').textContent === 'resolved'")
    stored = api.get(f"/alerts/{target['id']}").json()
    assert [e["action"] for e in stored["audit"] if e["actor"] == "ana"] == [
        "acknowledged", "playbook.activated", "assigned", "resolved"]
    assert [p["name"] for p in stored["playbooks"]] == ["pr-legal-critical"]
    audit = page.locator("#detail-body table").last.inner_text()
    assert "playbook.activated" in audit and "resolved" in audit
    assert page.locator("#act-ack").is_disabled() and page.locator("#act-resolve").is_disabled()
    assert page.locator("#detail-support").is_visible()  # who was talking
    page.select_option("#verdict-reason", "spam")  # the team's verdict, from the dialog
    page.click("#act-noise")
    page.wait_for_function("document.getElementById('detail-verdict-text').textContent"
                           ".startsWith('noise (spam) by ana')")
    verdict = api.get(f"/alerts/{target['id']}").json()["feedback"]
    assert (verdict["verdict"], verdict["reason"], verdict["actor"]) == ("noise", "spam", "ana")
    assert tab.errors == []


def test_a_new_incident_and_its_updates_appear_without_a_reload(tab: Page,
                                                                dash_store: Store) -> None:
    page = tab.open()
    page.evaluate("window.__sameDocument = true")
    doc = incident("pushed-1", brand="Delta", severity="critical",
                   summary="Delta: 120 mentions in 60 min against 20.0 expected (pushed)")
    w = dash_store.writer()
    w.incident(Incident.from_dict(doc))
    w.execute()
    item = page.locator("#incident-list li[data-id='pushed-1']")
    item.wait_for(timeout=10_000)
    assert page.locator("#incident-list > li").first.get_attribute("data-id") == "pushed-1"
    assert "(pushed)" in item.inner_text() and "open" in item.inner_text()
    page.wait_for_function("document.getElementById('announcer').textContent"
                           ".includes('New critical incident for Delta')")

    # a playbook starts its response clock (as the worker would): the item counts down
    playbooks = runtime.playbooks(settings_for(dash_store.p))
    ctx = Context(doc, playbooks, StaffingConfig(), time.time())
    dash_store.lifecycle.transact("pushed-1", lambda s: lifecycle.activate(
        s, ctx, playbooks.get("pr-legal-critical"), "crisiswatch", "", ["test"], "auto"))
    clock = item.locator("[data-sla]")
    page.wait_for_function("document.querySelector(\"li[data-id='pushed-1'] [data-sla]\")"
                           ".textContent.startsWith('respond within 14:')")
    before = clock.inner_text()
    page.wait_for_function(f"document.querySelector(\"li[data-id='pushed-1'] [data-sla]\")"
                           f".textContent !== {before!r}")  # it ticks

    w = dash_store.writer()
    w.incident(Incident.from_dict(incident("pushed-1", brand="Delta", severity="critical",
                                           state="resolved", window=3,
                                           summary="Delta: quiet again (pushed)")))
    w.execute()
    page.wait_for_function("document.querySelector(\"li[data-id='pushed-1']\")"
                           ".textContent.includes('quiet again')")
    assert "resolved" in item.inner_text()
    assert page.evaluate("window.__sameDocument") is True  # never reloaded
    assert tab.errors == []


CONTRAST = """() => {
  const lum = (rgb) => {
    const [r, g, b] = rgb.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const parse = (c) => c.match(/[\\d.]+/g).map(Number);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] > 0.5) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const bad = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("svg") || !el.checkVisibility()) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const style = getComputedStyle(el);
    const [l1, l2] = [lum(parse(style.color).slice(0, 3)), lum(background(el))];
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const what = `${el.tagName}.${el.className} '${el.textContent.trim().slice(0, 30)}'`;
    if (ratio < (large ? 3 : 4.5)) bad.push(`${what}: ${ratio.toFixed(2)}`);
  }
  return bad;
}"""

UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea, button")]
  .filter((el) => el.checkVisibility() && !(el.labels && el.labels.length)
          && !el.getAttribute("aria-label") && !(el.tagName === "BUTTON" && el.textContent.trim()))
  .map((el) => el.id || el.outerHTML.slice(0, 60))"""


def test_keyboard_labels_and_contrast(tab: Page) -> None:
    page = tab.open()
    assert page.evaluate(CONTRAST) == []
    assert page.evaluate(UNLABELLED) == []
    for svg in page.locator("svg[role=img]").all():  # charts say what they show
        names = svg.get_attribute("aria-labelledby").split()
        assert all(page.locator(f"#{n}").inner_text().strip() for n in names)
    assert page.locator("[onclick], [role=button], div[tabindex], span[tabindex]").count() == 0

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    for _ in range(40):  # Tab along to the first incident: every control on the way is real
        page.keyboard.press("Tab")
        tag = page.evaluate("document.activeElement.tagName")
        assert tag in {"BUTTON", "SELECT", "INPUT", "A", "SUMMARY"}, tag
        if page.evaluate("document.activeElement.classList.contains('incident-open')"):
            break
    else:
        pytest.fail("no incident reachable with Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")  # the focus is visible
    opener = page.evaluate("document.activeElement.closest('li').dataset.id")
    page.keyboard.press("Enter")
    page.wait_for_selector("#detail-state")
    assert page.evaluate("document.getElementById('detail').contains(document.activeElement)")
    page.wait_for_selector("#detail-staffing table, #detail-staffing p:not(.muted)",
                           timeout=10_000)
    assert page.evaluate(CONTRAST) == []
    assert page.evaluate(UNLABELLED) == []
    page.keyboard.press("Escape")
    page.wait_for_function("!document.getElementById('detail').open")
    assert page.evaluate("document.activeElement.closest('li')?.dataset.id") == opener
    assert tab.errors == []


def test_the_report_view_shows_the_api_figures_and_downloads_csv(
        tab: Page, api: httpx.Client, tmp_path: Path) -> None:
    page = tab.open()
    page.click("#tab-reports")
    page.wait_for_selector("table.report tbody tr[data-brand='Delta']")
    (delta,) = api.get("/reports", params={"brand": "Delta"}).json()["brands"]
    tiles = page.locator("dl.tiles").inner_text()
    assert f"{delta['volume']['mentions']:,}" in tiles
    assert f"{delta['incidents']['total']}" in page.locator(
        "tr[data-brand='Delta'] td[data-kpi=incidents]").inner_text()
    assert "emerging complaint topics" in page.locator(".tiles-wrap").inner_text().lower()
    assert page.locator(".tiles-wrap ol[data-kpi=emerging] > li").count() == len(
        delta["emerging_topics"])
    page.select_option("#report-brand", "")
    page.click("#report-form button[type=submit]")
    page.wait_for_function("document.querySelectorAll('table.report tbody tr').length > 1")
    assert page.locator("table.report tbody tr").count() == len(api.get("/brands").json())
    with page.expect_download() as download:
        page.click("#report-csv")
    saved = tmp_path / "report.csv"
    download.value.save_as(saved)
    assert saved.read_text().splitlines()[0].startswith("brand,start,end,mentions")
    assert len(saved.read_text().splitlines()) == 1 + len(api.get("/brands").json())
    assert tab.errors == []



def test_an_api_that_refuses_anonymous_reads_asks_for_a_key(browser: Any, dash_store: Store
                                                            ) -> None:
    token, _ = dash_store.api_keys.create("reader", ["read"])
    with serve(dash_store, SecurityConfig(anonymous_read=False)) as api:
        tab = Page(browser, str(api.base_url).rstrip("/"))
        page = tab.page
        page.goto(f"{tab.base}/#brand=Delta")
        page.wait_for_selector("#key-form:not([hidden])", timeout=10_000)
        assert page.evaluate("document.activeElement.id") == "header-key"
        page.fill("#header-key", token)
        page.press("#header-key", "Enter")
        page.wait_for_selector("body[data-loaded=true]", timeout=10_000)
        page.wait_for_selector("#live.on", timeout=10_000)  # the stream carries the key too
        assert page.locator("#incident-list > li").count() >= 4
        assert tab.errors and all("401" in e for e in tab.errors)  # the refusals before
        page.close()

def test_a_stalled_connector_shows_in_the_header(tab: Page, dash_store: Store,
                                                  api: httpx.Client) -> None:
    """A connector that reads without getting further for longer than the stall bound
    (the default, 5 minutes) turns the header's status to degraded, naming it."""
    now = time.time()
    dash_store.connectors.commit("bluesky", [], None, {}, [],
                                 {"seen_at": now, "progress_at": now - 900})
    try:
        assert api.get("/health").json()["connectors"] == {"bluesky": "stalled"}
        page = tab.open()
        assert page.locator("#status-text").inner_text() == \
            "degraded: connector bluesky stalled"
    finally:  # the page's other tests see a healthy pipeline
        dash_store.r.delete(dash_store.connectors.key("bluesky"))
        dash_store.r.srem(dash_store.keys.connectors, "bluesky")
    assert tab.errors == []



OVERFLOW = """(sel) => { const el = document.querySelector(sel);
  return [el.scrollWidth, el.clientWidth]; }"""


def test_a_deep_link_opens_its_incident_and_fits_a_phone(tab: Page, api: httpx.Client) -> None:
    fleek = fleek_incident(api)
    page = tab.page
    page.goto(f"{tab.base}/#/brands/Delta")
    page.wait_for_selector("body[data-loaded=true]", timeout=10_000)
    page.goto(f"{tab.base}/#/alerts/{fleek['id']}")  # as "Open the incident" in a message
    page.wait_for_selector("#detail-state", timeout=10_000)
    assert page.evaluate("document.getElementById('detail').open")
    title = page.locator("#detail-title").inner_text()
    assert fleek["headline"] and fleek["headline"] in title  # the plain words first
    assert page.locator("#detail-meta code").inner_text() == fleek["id"]
    assert "resolved: no response clock" in page.locator("#detail-sla").inner_text()
    page.wait_for_selector("#detail-chart circle.anomaly", state="attached", timeout=10_000)
    page.screenshot(path=str(SCREENSHOTS / "deep-link-incident-1440.png"))

    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_selector("#detail-staffing table", timeout=10_000)
    width, client = page.evaluate(OVERFLOW, "dialog#detail")
    assert width <= client, f"the dialog overflows at 390 px: {width} > {client}"
    width, client = page.evaluate(OVERFLOW, "body")
    assert width <= client, (width, client)
    page.screenshot(path=str(SCREENSHOTS / "deep-link-incident-390.png"))

    page.go_back()  # back closes the incident, onto the brand it came from
    page.wait_for_function("!document.getElementById('detail').open")
    assert page.evaluate("location.hash") == "#/brands/Delta"
    incidents = page.locator("#incident-list").bounding_box()
    chart = page.locator("#volume-chart").bounding_box()
    assert incidents["y"] < chart["y"]  # on a phone the incidents come first
    width, client = page.evaluate(OVERFLOW, "body")
    assert width <= client, (width, client)
    page.go_forward()
    page.wait_for_function("document.getElementById('detail').open")
    assert tab.errors == []
