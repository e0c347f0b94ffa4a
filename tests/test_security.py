"""The API's guard over real HTTP: scopes (401 vs 403), anonymous read on and off, body
limits, rate limits, CORS, secrets kept out of logs, and 503 on every router while
Redis is down."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
import uvicorn

from crisiswatch.api.app import create_app
from crisiswatch.api.config import ApiConfig, SecurityConfig
from crisiswatch.api.security import route_scopes
from crisiswatch.cli.logs import uvicorn_log_config
from crisiswatch.config.api import SecuritySettings
from crisiswatch.response.playbooks import PlaybookSet
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis, free_port
from tests.conftest import API, UNLIMITED, LiveAPI
from tests.helpers.activation import incident, write

SCOPED = ("read", "ingest", "operate", "admin")
# (method, path, body, scope it needs): one or more endpoints of each router
ENDPOINTS = [
    ("GET", "/alerts", None, "read"),
    ("GET", "/alerts/inc-1", None, "read"),
    ("GET", "/brands/Acme/topics", None, "read"),
    ("GET", "/alerts/inc-1/staffing", None, "read"),
    ("GET", "/metrics", None, "read"),
    ("POST", "/alerts/inc-1/ack", {"actor": "ana"}, "operate"),
    ("GET", "/playbooks", None, "operate"),
    ("GET", "/webhooks/dead", None, "operate"),
    ("POST", "/webhooks/dead/msg-1/redrive", None, "operate"),
    ("POST", "/mentions/m-1/label", {"label": "negative", "text": "awful"}, "operate"),
    ("GET", "/brands/Acme/routine", None, "read"),
    ("POST", "/brands/Acme/routine", {"term": "#askacme"}, "operate"),
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def keys(store: Store) -> dict[str, str]:
    """A token per scope."""
    return {scope: store.api_keys.create(f"{scope}-key", [scope])[0] for scope in SCOPED}


def serve(store: Store, security: SecurityConfig) -> LiveAPI:
    return LiveAPI(store, ApiConfig(security=security, playbooks=PlaybookSet()), key=False)


def test_every_endpoint_states_its_scope_and_no_write_is_read_only() -> None:
    app = create_app(Store(connect("redis://127.0.0.1:1/0"), "unused"))
    public = {"/", "/health", "/docs"}  # /docs: Swagger UI, no data
    routes = list(route_scopes(app.routes))  # the routers' routes too
    assert len(routes) > 25
    for path, methods, scopes in routes:
        if path in public:
            assert scopes == set(), path
            continue
        assert len(scopes) == 1, f"{methods} {path} states no scope"
        if methods - {"GET", "HEAD"}:
            assert scopes <= {"ingest", "operate", "admin"}, f"{path} writes on read"


def test_each_scope_is_allowed_where_it_should_be_and_refused_elsewhere(
        store: Store, keys: dict[str, str]) -> None:
    write(store, incident("inc-1", brand="Acme"))
    with serve(store, UNLIMITED) as api:
        for method, path, body, needed in ENDPOINTS:
            for scope, token in keys.items():
                r = api.request(method, path, json=body, headers=bearer(token))
                if scope in (needed, "admin"):
                    assert r.status_code not in (401, 403), (scope, method, path, r.text)
                else:
                    assert r.status_code == 403, (scope, method, path, r.status_code)
                    assert r.json()["error"]["message"].startswith(f"API key '{scope}-key'")
                    assert f'scope="{needed}"' in r.headers["WWW-Authenticate"]
            anonymous = api.request(method, path, json=body)
            if needed == "read":
                assert anonymous.status_code not in (401, 403), (method, path)
            else:  # never an anonymous write, whatever the settings
                assert anonymous.status_code == 401, (method, path)
                assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        # the live stream too: refused at once, or streaming
        assert api.get("/stream", headers=bearer(keys["ingest"])).status_code == 403
        with api.stream("GET", "/stream", headers=bearer(keys["read"])) as r:
            assert r.status_code == 200
            assert next(r.iter_lines()) == "retry: 2000"


def test_unknown_revoked_or_malformed_keys_get_401_even_where_anonymous_may_read(
        store: Store, keys: dict[str, str]) -> None:
    with serve(store, UNLIMITED) as api:
        assert api.get("/alerts").status_code == 200
        r = api.get("/alerts", headers=bearer("cw_not-a-key"))
        assert r.status_code == 401
        assert r.json()["error"]["message"] == "unknown or revoked API key"
        assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
        r = api.get("/alerts", headers={"Authorization": f"Basic {keys['read']}"})
        assert r.status_code == 401 and "Bearer <token>" in r.json()["error"]["message"]
        key_id = store.api_keys.verify(keys["read"])["id"]
        assert api.get("/alerts", headers=bearer(keys["read"])).status_code == 200
        assert store.api_keys.revoke(key_id)["name"] == "read-key"
        assert api.get("/alerts", headers=bearer(keys["read"])).status_code == 401
        # a token in the query string is not a key
        assert api.post("/alerts/x/ack", params={"access_token": keys["admin"]},
                        json={"actor": "a"}).status_code == 401


def test_anonymous_read_off_means_401_everywhere_but_health(store: Store,
                                                             keys: dict[str, str]) -> None:
    closed = SecurityConfig(anonymous_read=False, rate_per_second=None)
    with serve(store, closed) as api:
        for path in ("/alerts", "/stats", "/metrics", "/stream", "/brands/Acme/topics"):
            r = api.get(path)
            assert r.status_code == 401, path
            assert r.headers["WWW-Authenticate"] == 'Bearer realm="crisiswatch"'
            assert "scope 'read'" in r.json()["error"]["message"]
        assert api.get("/alerts", headers=bearer(keys["read"])).status_code == 200
        assert api.get("/health").status_code == 200
        assert api.get("/openapi.json").status_code == 200


def test_oversize_bodies_get_413_declared_or_streamed(store: Store,
                                                      keys: dict[str, str]) -> None:
    small = SecurityConfig(rate_per_second=None, body_limit_bytes=2_000)
    with serve(store, small) as api:
        ok = {"label": "negative", "text": "x" * 1_000}
        assert api.post("/mentions/m/label", json=ok,
                        headers=bearer(keys["operate"])).status_code == 202
        big = orjson.dumps({"label": "negative", "text": "x" * 5_000})
        r = api.post("/mentions/m/label", content=big,
                     headers={**bearer(keys["operate"]), "Content-Type": "application/json"})
        assert r.status_code == 413
        assert r.json() == {"error": {"status": 413,
                                      "message": "request body larger than 2,000 bytes"}}

        def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
            for i in range(0, len(big), 500):
                yield big[i:i + 500]

        r = api.post("/mentions/m/label", content=chunks(),
                     headers={**bearer(keys["operate"]), "Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["status"] == 413
    assert store.labels.count() == 1


def test_rate_limits_answer_429_with_retry_after_per_key_and_per_address(
        store: Store) -> None:
    tight = SecurityConfig(rate_per_second=1, burst=3, anonymous_rate_per_second=1,
                           anonymous_burst=2)
    token, _ = store.api_keys.create("tight", ["read"])
    roomy, _ = store.api_keys.create("roomy", ["read"], rate_per_second=1000, burst=1000)
    with serve(store, tight) as api:
        codes = [api.get("/stats", headers=bearer(token)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = api.get("/stats", headers=bearer(token))
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"
        assert "rate limit for API key 'tight'" in r.json()["error"]["message"]
        # other callers have their own buckets: a key with its own rate, and anonymous
        assert all(api.get("/stats", headers=bearer(roomy)).status_code == 200
                   for _ in range(20))
        assert [api.get("/stats").status_code for _ in range(3)] == [200, 200, 429]
        time.sleep(1.1)  # Retry-After was right: a token is back
        assert api.get("/stats", headers=bearer(token)).status_code == 200


def test_cors_preflight_allows_configured_origins_only(store: Store) -> None:
    cors = SecurityConfig(rate_per_second=None, anonymous_rate_per_second=None,
                          cors_origins=("https://ops.example",))
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    with serve(store, cors) as api:
        r = api.options("/alerts/x/ack", headers={"Origin": "https://ops.example", **preflight})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://ops.example"
        assert "authorization" in r.headers["access-control-allow-headers"].lower()
        r = api.options("/alerts/x/ack", headers={"Origin": "https://evil.example", **preflight})
        assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
        # errors carry the header too, so the browser lets the page read them
        r = api.post("/alerts/x/ack", json={"actor": "a"}, headers={"Origin": "https://ops.example"})
        assert r.status_code == 401
        assert r.headers["access-control-allow-origin"] == "https://ops.example"
        assert "retry-after" in r.headers["access-control-expose-headers"].lower()
    with serve(store, UNLIMITED) as api:  # none configured: no CORS at all
        r = api.get("/alerts", headers={"Origin": "https://ops.example"})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """uvicorn's log config changes process-wide loggers: put them back after."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "crisiswatch")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level,
                 logging.getLogger(n).propagate) for n in names}
    yield
    for n, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(n)
        logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_no_token_reaches_the_logs(store: Store, keys: dict[str, str], fmt: str,
                                   capfd: pytest.CaptureFixture[str],
                                   restore_logging: None) -> None:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(
        create_app(store, API), host="127.0.0.1", port=port,
        log_config=uvicorn_log_config(fmt, "info")))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            assert c.get("/alerts", headers=bearer(keys["read"])).status_code == 200
            assert c.post("/alerts/x/ack", json={"actor": "a"},
                          headers=bearer(keys["read"])).status_code == 403
            assert c.get("/alerts", headers=bearer(keys["admin"] + "x")).status_code == 401
            assert c.get("/alerts", params={"access_token": keys["admin"]}).status_code == 200
            assert c.get(f"/alerts/{keys['operate']}").status_code == 404
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    logged = capfd.readouterr().err
    assert "/alerts/x/ack" in logged and "refused POST /alerts/x/ack" in logged  # captured
    assert "access_token=[redacted]" in logged
    for token in keys.values():
        assert token not in logged and token[3:] not in logged
    if fmt == "json":
        lines = [orjson.loads(line) for line in logged.splitlines() if line.startswith("{")]
        access = [x for x in lines if x["logger"] == "uvicorn.access"]
        assert [x["status"] for x in access] == [200, 403, 401, 200, 404]
        assert {x["method"] for x in access} == {"GET", "POST"}


def test_every_router_answers_503_while_redis_is_down_and_recovers(prefix: str) -> None:
    server = EmbeddedRedis(port=free_port()).start()
    try:
        # the API's client, as the CLI gives it one: fails fast instead of backing off
        store = Store(connect(server.url, fast=True), prefix)
        token, _ = store.api_keys.create("ops", ["admin"])
        with serve(store, UNLIMITED) as api:
            assert api.get("/metrics", headers=bearer(token)).status_code == 200
            with api.stream("GET", "/stream") as live:  # open before the outage
                assert live.status_code == 200
                server.stop()
                # the stream that had begun ends cleanly (the client reconnects later)
                assert "".join(live.iter_text()).startswith("retry: 2000")
            took = []
            for _ in range(3):  # each kind of caller, answered within a second
                started = time.perf_counter()
                r = api.post("/alerts/a/ack", json={"actor": "a"}, headers=bearer(token))
                took.append(time.perf_counter() - started)
                assert r.status_code == 503  # the key cannot be checked
                assert r.headers["retry-after"] == "1"
                assert "the store (Redis) is unavailable" in r.json()["error"]["message"]
                for path in ("/stream", "/brands/Acme/topics"):  # anonymous: the handlers
                    started = time.perf_counter()
                    r = api.get(path)
                    took.append(time.perf_counter() - started)
                    assert r.status_code == 503, path
                    assert "the store (Redis) is unavailable" in r.json()["error"]["message"]
            print(f"\n503 while Redis is down: max {max(took) * 1000:.0f} ms over "
                  f"{len(took)} requests")
            assert max(took) < 1.0, took
            # /metrics answers from this process, for a key it verified before the outage
            r = api.get("/metrics", headers=bearer(token))
            assert r.status_code == 200 and "crisiswatch_redis_up 0.0" in r.text
            assert "crisiswatch_http_request_duration_seconds" in r.text
            assert api.get("/health").json()["redis"] is False
            server.start()  # empty again: this server persists nothing
            deadline = time.monotonic() + 10  # a client honours Retry-After
            while not (h := api.get("/health").json())["redis"]:
                assert time.monotonic() < deadline, h
                time.sleep(0.2)
            token, _ = store.api_keys.create("ops", ["admin"])
            r = api.post("/mentions/m/label", json={"label": "neutral", "text": "ok"},
                         headers=bearer(token))
            assert r.status_code == 202
            assert api.get("/webhooks/dead", headers=bearer(token)).json() == []
    finally:
        server.close()


def serve_as_the_cli(store: Store, security: SecurityConfig,
                     settings: SecuritySettings) -> LiveAPI:
    """uvicorn with the forwarded-header options the CLI gives it (``proxy_options``)."""
    live = serve(store, security)
    for name, value in settings.proxy_options().items():
        setattr(live.server.config, name, value)
    return live


def test_forwarded_for_is_believed_from_trusted_proxies_only(store: Store) -> None:
    tight = SecurityConfig(rate_per_second=None, anonymous_rate_per_second=1,
                           anonymous_burst=2)
    spoofed = [{"X-Forwarded-For": f"203.0.113.{i}"} for i in range(4)]
    # the default: no proxy is trusted, so a new address per request changes nothing
    with serve_as_the_cli(store, tight, SecuritySettings()) as api:
        assert [api.get("/stats", headers=h).status_code for h in spoofed] == \
            [200, 200, 429, 429]
    # behind a configured proxy (here, loopback) each client has its own allowance
    proxied = SecuritySettings(trusted_proxies=["127.0.0.1"])
    with serve_as_the_cli(store, tight, proxied) as api:
        assert [api.get("/stats", headers=h).status_code for h in spoofed] == [200] * 4


def test_a_host_header_not_served_here_is_refused(store: Store) -> None:
    """DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1."""
    with serve(store, UNLIMITED) as api:
        for host in ("127.0.0.1", f"127.0.0.1:{api.base_url.port}", "localhost:1",
                     "[::1]:8000"):
            assert api.get("/stats", headers={"Host": host}).status_code == 200, host
        r = api.get("/stats", headers={"Host": "evil.example"})
        assert r.status_code == 400
        assert r.json()["error"]["message"] == ("Host 'evil.example' is not served here "
                                                "(security.allowed_hosts)")
    named = SecurityConfig(rate_per_second=None, anonymous_rate_per_second=None,
                           allowed_hosts=SecuritySettings(
                               allowed_hosts=["*.example.com"]).hosts_for("0.0.0.0"))
    with serve(store, named) as api:
        assert api.get("/health", headers={"Host": "api.example.com"}).status_code == 200
        assert api.get("/health", headers={"Host": "127.0.0.1"}).status_code == 400
    assert SecuritySettings().hosts_for("10.0.0.5") == ("127.0.0.1", "localhost", "::1",
                                                        "10.0.0.5")
    assert "allowed_hosts names none" in SecuritySettings(
        anonymous_read=False).exposure_error("0.0.0.0")
