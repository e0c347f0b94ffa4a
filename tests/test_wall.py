"""The wall and the snooze in a real browser (Debian's Chromium through Playwright), against
the real app over real HTTP on a real Redis, as ``test_dashboard.py`` does.

Synthetic stores, written as the flow writes them (``StoreWriter``): three brands, and
500 brands for the figures (first paint, an update over the stream) printed as they are
measured. Screenshots go to ``screenshots/`` (ignored by git)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from crisiswatch.api.config import SecurityConfig
from crisiswatch.config import runtime
from crisiswatch.detectors.types import Incident
from crisiswatch.response.staffing import StaffingConfig
from crisiswatch.store import Store, connect
from crisiswatch.worker.activation import ActivationEngine
from tests.conftest import settings_for
from tests.helpers.activation import T0, incident
from tests.test_dashboard import SCREENSHOTS, Page, browser, serve

__all__ = ["browser"]  # the shared Chromium, a fixture of this module too
pytestmark = pytest.mark.slow  # see pyproject's markers

WINDOW = 300
DAY = 288  # windows in the wall's 24 h
PHONE = {"width": 390, "height": 844}
NO_OVERFLOW = ("() => [document.scrollingElement.scrollWidth, "
               "document.scrollingElement.clientWidth]")


def calm_day(store: Store, brands: list[str], spike: dict[str, float] | None = None) -> None:
    """A day of 5-min windows per brand ending at ``T0``: ten mentions where ten are
    expected, ``spike[brand]`` times that in the last hour."""
    w = store.writer()
    for brand in brands:
        for i in range(DAY):
            start = T0 - (DAY - 1 - i) * WINDOW
            lift = (spike or {}).get(brand, 1.0) if i >= DAY - 12 else 1.0
            count = int(10 * lift + i % 3)
            w.window(brand, start, {
                "window_start": start, "window_end": start + WINDOW, "count": count,
                "expected": 10.0, "retweets": 0, "negative_share": 0.3, "positive_share": 0.3,
                "mean_sentiment": 0.0, "reach": count * 100, "max_followers": 500,
                "hashtags": [], "p_value": 0.5, "surprise": 0.3, "lift": count / 10,
                "horizon": 1, "anomalous": lift > 1, "warming_up": False})
    w.execute()


def write(store: Store, doc: dict[str, Any]) -> None:
    w = store.writer()
    w.incident(Incident.from_dict(doc))
    w.execute()


def new_store(redis_server: Any) -> Store:
    return Store(connect(redis_server.url), f"wall{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def three(redis_server: Any) -> Iterator[tuple[Store, str]]:
    """Acme (calm), Globex (an open warning), Northwind (9x its volume, no incident yet)."""
    store = new_store(redis_server)
    calm_day(store, ["Acme", "Globex", "Northwind"], spike={"Northwind": 9.0})
    write(store, incident("globex-1", brand="Globex", severity="warning",
                          summary="Globex: 40 mentions in 60 min against 12.0 expected",
                          top_terms=[["refund", 20]], hashtags=[], top_hashtags=[],
                          negative_share=0.41, lift=3.3))
    with serve(store, SecurityConfig()) as api:
        yield store, str(api.base_url).rstrip("/")


@pytest.fixture
def tab(browser: Any) -> Iterator[Page]:
    page = Page(browser, "")
    yield page
    page.page.close()


def wall(tab: Page, base: str, hash_: str = "#/wall") -> Any:
    page = tab.page
    page.goto(f"{base}/{hash_}")
    page.wait_for_selector("body[data-wall=ready]", timeout=10_000)
    page.wait_for_selector("#live.on", timeout=10_000)
    return page


def ranked(page: Any) -> list[str]:
    return page.locator("#wall-tiles > li").evaluate_all("ls => ls.map(l => l.dataset.brand)")


def test_a_new_critical_incident_tops_the_wall_within_two_seconds(
        tab: Page, three: tuple[Store, str]) -> None:
    store, base = three
    page = wall(tab, base, "")  # several brands: the wall is the default view
    assert not page.locator("#view-wall").is_hidden()
    assert ranked(page) == ["Globex", "Northwind", "Acme"]  # open severity, then lift
    globex = page.locator("#wall-tiles > li[data-brand=Globex]")
    assert "Billing complaints: 3.3× the usual volume, 41% negative" in globex.inner_text()
    assert "9." in page.locator("#wall-tiles > li[data-brand=Northwind] .w-lift").inner_text()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "wall-3-brands-1440.png"))

    written = time.monotonic()
    write(store, incident("northwind-1", brand="Northwind", severity="critical",
                          top_hashtags=[["northwinddown", 80]], negative_share=0.53, lift=7.9,
                          hashtags=[{"tag": "northwinddown", "count": 80, "expected": 0.0,
                                     "lift": None, "retweets": 4}]))
    page.wait_for_function("document.querySelector('#wall-tiles > li')"
                           ".dataset.brand === 'Northwind'", timeout=2_000, polling=20)
    took = time.monotonic() - written
    print(f"\nwall, 3 brands: a new critical incident ranked first {took * 1000:.0f} ms "
          "after it was written")
    assert took < 2.0
    first = page.locator("#wall-tiles > li").first
    assert "Outage complaints: 7.9× the usual volume, #northwinddown, 53% negative" in \
        first.inner_text()
    assert "critical" in first.get_attribute("class")
    assert page.locator("#wall-alarm").is_visible()  # the cue
    assert "Northwind" in page.locator("#wall-alarm").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "wall-3-brands-new-critical-1440.png"))

    page.set_viewport_size(PHONE)
    width, client = page.evaluate(NO_OVERFLOW)
    assert width <= client, (width, client)
    page.screenshot(path=str(SCREENSHOTS / "wall-3-brands-390.png"), full_page=True)

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{base}/#/wall?kiosk=1")
    page.wait_for_selector("body.kiosk[data-wall=ready]", timeout=10_000)
    assert page.locator("header.top").is_hidden() and page.locator("#wall-kiosk").is_hidden()
    page.locator("#wall-tiles > li").first.locator("a").click()  # the tile opens its incident
    page.wait_for_function("document.getElementById('detail').open")
    assert page.evaluate("location.hash") == "#/alerts/northwind-1"
    assert tab.errors == []


def test_a_snoozed_incident_pages_nobody_until_the_snooze_ends(
        tab: Page, three: tuple[Store, str]) -> None:
    store, base = three
    token, _ = store.api_keys.create("snoozer", ["read", "operate"])
    engine = ActivationEngine(store, runtime.playbooks(settings_for(store.p)), StaffingConfig(),
                              consumer="wall-test")
    engine.drain()  # what came before
    write(store, incident("acme-1", brand="Acme", severity="critical"))

    page = tab.page
    page.goto(f"{base}/#/alerts/acme-1")  # the link the messages carry
    page.wait_for_selector("#detail-state", timeout=10_000)
    page.fill("#actor", "ana")
    page.fill("#apikey", token)
    page.fill("#note", "planned maintenance")
    page.select_option("#snooze-hours", "2")
    page.click("#act-snooze")
    page.wait_for_selector("#detail-snoozed")
    assert "snoozed until" in page.locator("#detail-snoozed").inner_text()
    assert "planned maintenance" in page.locator("#detail-snoozed").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "snooze-1440.png"))
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SCREENSHOTS / "snooze-390.png"))

    engine.drain()
    engine.run_clocks()
    assert engine.wake_snoozed() == 0  # two hours to go
    held = store.alert("acme-1")
    assert held["playbooks"] == [] and held["snoozed"]["actor"] == "ana"
    assert [e["action"] for e in held["audit"]] == ["snoozed"]

    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as api:
        cut = api.post("/alerts/acme-1/snooze", json={"hours": 0.5 / 3600, "actor": "ana",
                                                     "reason": "done sooner"})
        assert cut.status_code == 201
        time.sleep(0.6)
        assert api.get("/alerts/acme-1").json()["snoozed"] is None  # ended by itself
    assert engine.wake_snoozed() == 1
    after = store.alert("acme-1")
    assert after["playbooks"], "the snooze ended: the playbooks run"
    actions = [e["action"] for e in after["audit"]]
    assert actions[:3] == ["snoozed", "snoozed", "snooze.ended"]
    assert "playbook.activated" in actions
    assert [e["action"] for e in store.snoozes.log()][:3] == ["snooze.ended", "snoozed",
                                                               "snoozed"]
    assert tab.errors == []


def test_the_wall_of_500_brands_paints_and_updates(browser: Any, redis_server: Any) -> None:
    store = new_store(redis_server)
    brands = [f"brand-{n:03d}" for n in range(500)]
    calm_day(store, brands, spike={b: 1 + (n % 7) for n, b in enumerate(brands)})
    for n in range(0, 500, 25):  # 20 open warnings
        write(store, incident(f"w-{n}", brand=brands[n], severity="warning"))
    with serve(store, SecurityConfig()) as api:
        base = str(api.base_url).rstrip("/")
        t = time.perf_counter()
        assert api.get("/wall").status_code == 200
        api_s = time.perf_counter() - t
        tab = Page(browser, base)
        page = tab.page
        t = time.perf_counter()
        page.goto(f"{base}/#/wall")
        page.wait_for_selector("body[data-wall=ready]", timeout=20_000)
        paint_s = time.perf_counter() - t
        in_page_ms = page.evaluate("performance.now()")
        assert page.locator("#wall-tiles > li").count() == 48  # a page, worst first
        classes = page.locator("#wall-tiles > li").evaluate_all("ls => ls.map(l => l.className)")
        assert all("sev-warning" in c for c in classes[:20])  # the open incidents first ...
        assert not any("sev-warning" in c for c in classes[20:])  # ... then by lift
        assert "500 brands, 20 with open incidents · page 1 of 11" in \
            page.locator("#wall-count").inner_text()
        page.wait_for_selector("#live.on", timeout=10_000)
        page.screenshot(path=str(SCREENSHOTS / "wall-500-brands-1440.png"))

        written = time.monotonic()
        write(store, incident("c-317", brand="brand-317", severity="critical"))
        page.wait_for_function("document.querySelector('#wall-tiles > li')"
                               ".dataset.brand === 'brand-317'", timeout=2_000, polling=20)
        update_s = time.monotonic() - written
        page.wait_for_function("window.__wallLoadMs !== undefined")
        print(f"\nwall, 500 brands: GET /wall {api_s * 1000:.0f} ms; first paint "
              f"{paint_s * 1000:.0f} ms from navigation (page clock {in_page_ms:.0f} ms); "
              f"a new critical ranked first {update_s * 1000:.0f} ms after it was written")
        assert update_s < 2.0
        page.click("#wall-next")
        assert "page 2 of 11" in page.locator("#wall-count").inner_text()
        page.set_viewport_size(PHONE)
        page.click("#wall-prev")
        width, client = page.evaluate(NO_OVERFLOW)
        assert width <= client, (width, client)
        page.screenshot(path=str(SCREENSHOTS / "wall-500-brands-390.png"))
        assert tab.errors == []
        page.close()


PREVIEW = """<!doctype html><meta name=viewport content="width=device-width">
<style>body{{font:15px/1.45 system-ui,sans-serif;margin:1rem;max-width:760px}}
.msg{{border-left:4px solid #4a154b;padding:.5rem 1rem;background:#fff}}
pre{{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;padding:1rem}}
h1{{font-size:1rem;color:#57606a}}</style><h1>{title}</h1>{body}"""


def test_a_digest_as_slack_and_email_show_it(tab: Page, three: tuple[Store, str]) -> None:
    """Not a rendering engine: the screenshots show what the bodies say, as a reader
    of the channel would see the words (Slack's mrkdwn as plain text)."""
    _, base = three
    with httpx.Client(base_url=base) as api:
        slack = api.get("/digest", params={"from": T0 - 86_400, "to": T0 + 3600,
                                           "format": "slack"}).json()
        mail = api.get("/digest", params={"from": T0 - 86_400, "to": T0 + 3600,
                                          "format": "email"}).json()
    sections = [b["text"]["text"] for b in slack["blocks"] if "text" in b] + [
        "\n".join(f["text"] for b in slack["blocks"] for f in b.get("fields", []))]
    slack_html = "".join(f"<div class=msg><pre>{s.replace('*', '')}</pre></div>"
                         for s in sections)
    mail_html = (f"<p><b>From</b> {mail['from']} <b>To</b> {', '.join(mail['to'])}<br>"
                 f"<b>Subject</b> {mail['subject']}</p><pre>{mail['text']}</pre>")
    assert "Outage complaints" in mail["text"] and "Opened: " in mail["text"]
    for name, html in (("slack", slack_html), ("email", mail_html)):
        for width, height in ((1440, 900), (390, 844)):
            tab.page.set_viewport_size({"width": width, "height": height})
            tab.page.set_content(PREVIEW.format(title=f"digest as {name} shows it", body=html))
            tab.page.screenshot(path=str(SCREENSHOTS / f"digest-{name}-{width}.png"),
                                full_page=True)
