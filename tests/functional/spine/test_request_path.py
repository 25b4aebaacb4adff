"""The request path every service shares: body limits, hostile JSON, faults rendered whatever
raised them, the access log, Glance's Accept-dependent error pages and CORS (issue 8)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request

from overcast.common import faults
from overcast.common.app import PublicRoute, build_app
from overcast.common.auth import RemoteValidator
from overcast.common.clock import from_epoch
from overcast.config import Config
from overcast.image.app import create_app as image_app
from tests.functional.conftest import running
from tests.functional.image.conftest import Glance


def _deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


# -- #7: request bodies are capped before anything reads them --
async def test_an_unauthenticated_huge_body_is_413_before_it_is_read(glance: Glance) -> None:
    big = b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "' \
        + b"x" * 3_000_000 + b'"}}}}}'
    r = await glance.ks.http.post("/v3/auth/tokens", content=big,
                                  headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json() == {"error": {"code": 413, "title": "Request Entity Too Large",
                                  "message": "Request is too large."}}


async def test_a_chunked_body_is_counted(glance: Glance) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(200):
            yield b"y" * 1024
        yield b'"}'

    r = await glance.http.post("/v2/images", content=chunks(), headers={
        **glance.alice, "Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "413 Request Entity Too Large"
    # Nothing was created.
    assert (await glance.http.get("/v2/images", headers=glance.alice)).json()["images"] == []


async def test_image_data_streams_past_the_json_limit(glance: Glance) -> None:
    img = await glance.create(glance.alice, name="big", disk_format="raw",
                              container_format="bare")
    data = b"z" * 1_000_000
    assert (await glance.upload(glance.alice, img["id"], data)).status_code == 204
    r = await glance.http.get(f"/v2/images/{img['id']}/file", headers=glance.alice)
    assert r.content == data


async def test_the_limit_is_configurable_per_service(cloud_config: Config) -> None:
    cloud_config.identity.max_request_body_size = 64
    from overcast.identity.app import create_app

    async with running(create_app(cloud_config)) as http:
        r = await http.post("/v3/auth/tokens", content=b"{" + b" " * 100 + b"}",
                            headers={"Content-Type": "application/json"})
    assert r.status_code == 413


# -- #5: deeply nested JSON is a 400 in each service's shape, on any JSON body --
async def test_deep_json_is_400_everywhere(glance: Glance) -> None:
    deep = _deep(50_000)
    ks = glance.ks.http
    for r in (await ks.post("/v3/auth/tokens", content=deep,
                            headers={"Content-Type": "application/json"}),
              await ks.post("/v3/users", content=b'{"user": {"name": "d", "x": ' + deep + b"}}",
                            headers={**glance.admin, "Content-Type": "application/json"}),
              await ks.post("/v3/projects", content=deep,
                            headers={**glance.admin, "Content-Type": "application/json"})):
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == 400
        assert "nested deeper than 64" in r.json()["error"]["message"]
    img = await glance.create(glance.alice, name="d")
    for r in (await glance.http.post("/v2/images", content=deep, headers={
                  **glance.alice, "Content-Type": "application/json"}),
              await glance.http.patch(f"/v2/images/{img['id']}", content=deep, headers={
                  **glance.alice,
                  "Content-Type": "application/openstack-images-v2.1-json-patch"})):
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "400 Bad Request"
    # A body just inside the limit is parsed as usual (and refused for its content only).
    r = await ks.post("/v3/auth/tokens", content=_deep(60),
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "nested" not in r.json()["error"]["message"]


# -- #12: a fault raised outside the routes still renders in the dialect --
async def test_identity_down_is_503_for_a_service_run_alone(image_config: Config,
                                                            tmp_path: Path) -> None:
    image_config.default.public_host = "127.0.0.1"
    image_config.identity.port = 9  # discard: nothing answers there
    async with running(image_app(image_config, None)) as http:
        r = await http.get("/v2/images", headers={"X-Auth-Token": "any",
                                                   "Accept": "application/json"})
    assert r.status_code == 503, r.text
    assert r.json() == {"code": "503 Service Unavailable", "title": "Service Unavailable",
                        "message": "The identity service cannot be reached.<br /><br />\n\n\n"}
    assert r.headers["X-Openstack-Request-Id"].startswith("req-")


# -- #14: the access log tells a server error from a client that went away --
def _toy_app(tmp_path: Path) -> FastAPI:
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @router.post("/slow-reader")
    async def read(request: Request) -> dict[str, int]:
        return {"n": len(await request.body())}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        yield {}

    return build_app(service="toy", service_type="toy", dialect="compute", routers=[router],
                     lifespan=lifespan, validator=lambda app: None,
                     public=[PublicRoute("*", "/", prefix=True)])


async def test_access_log_says_500_and_499(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                           ) -> None:
    app = _toy_app(tmp_path)
    caplog.set_level(logging.INFO, logger="overcast")
    async with running(app) as http:
        r = await http.get("/boom")
    assert r.status_code == 500
    assert r.json() == {"computeFault": {"code": 500,
                                         "message": "An unexpected error occurred."}}
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "overcast.toy.access"]
    assert any('"GET /boom" 500 ' in line for line in lines), lines

    # A client that disconnects while its body is read: logged 499, no traceback, no answer.
    caplog.clear()
    sent: list[dict[str, object]] = []
    messages = [{"type": "http.request", "body": b"{", "more_body": True},
                {"type": "http.disconnect"}]

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/slow-reader", "raw_path": b"/slow-reader",
             "query_string": b"", "root_path": "", "headers": [(b"content-type", b"text/plain")],
             "client": ("127.0.0.1", 5), "server": ("testserver", 80)}
    async with app.router.lifespan_context(app) as state:
        await app({**scope, "state": dict(state or {})}, receive, send)  # type: ignore[arg-type]
    assert sent == []
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "overcast.toy.access"]
    assert any('"POST /slow-reader" 499 ' in line for line in lines), lines
    assert not any(rec.exc_info for rec in caplog.records), "a disconnect is not a bug"


# -- #16: Glance's error pages follow the Accept header, as webob renders them --
async def test_image_error_pages_follow_accept(glance: Glance) -> None:
    missing = "/v2/images/00000000-0000-0000-0000-000000000000"
    msg = "No image found with ID 00000000-0000-0000-0000-000000000000"
    r = await glance.http.get(missing, headers={**glance.alice, "Accept": "*/*"})
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert r.text == ("<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n"
                      f"  <h1>404 Not Found</h1>\n  {msg}<br /><br />\n\n\n\n </body>\n</html>")
    r = await glance.http.get(missing, headers={**glance.alice, "Accept": "application/json"})
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"message": f"{msg}<br /><br />\n\n\n", "code": "404 Not Found",
                        "title": "Not Found"}
    r = await glance.http.get(missing, headers={**glance.alice, "Accept": ""})
    assert r.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert r.text == f"404 Not Found\n\n{msg}\n\n   "
    # keystonemiddleware's 401 in front of Glance is a webob page too.
    r = await glance.http.get(missing, headers={"Accept": "*/*"})
    assert r.status_code == 401 and r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert "<h1>401 Unauthorized</h1>" in r.text


# -- #18: CORS, answered before authentication, off by default --
async def test_cors_is_off_by_default(glance: Glance) -> None:
    r = await glance.http.options("/v2/images", headers={
        "Origin": "https://dash.example", "Access-Control-Request-Method": "PUT"})
    assert r.status_code == 401
    assert "Access-Control-Allow-Origin" not in r.headers


async def test_cors_preflight_and_marked_answers(image_config: Config) -> None:
    image_config.cors.allowed_origin = "https://dash.example"
    from overcast.identity.app import create_app as identity_app

    ident = identity_app(image_config)
    async with running(ident) as ks, running(
            image_app(image_config, lambda: getattr(ident.state, "identity", None))) as http:
        pre = {"Origin": "https://dash.example", "Access-Control-Request-Method": "PUT",
               "Access-Control-Request-Headers": "X-Auth-Token, Content-Type"}
        r = await http.options("/v2/images/abc/file", headers=pre)
        assert r.status_code == 200
        assert r.headers["Access-Control-Allow-Origin"] == "https://dash.example"
        assert r.headers["Access-Control-Allow-Methods"] == "PUT"
        assert r.headers["Access-Control-Allow-Headers"] == "x-auth-token,content-type"
        assert r.headers["Access-Control-Allow-Credentials"] == "true"
        # Another origin, a method or a header not allowed: no grant.
        for bad in ({"Origin": "https://evil.example"},
                    {"Access-Control-Request-Method": "TRACE"},
                    {"Access-Control-Request-Headers": "X-Evil"}):
            r = await http.options("/v2/images/abc/file", headers={**pre, **bad})
            assert r.status_code == 200
            assert "Access-Control-Allow-Origin" not in r.headers
        # An actual request from the page: its answer (an error too) carries the grant.
        r = await http.get("/v2/images", headers={"Origin": "https://dash.example"})
        assert r.status_code == 401
        assert r.headers["Access-Control-Allow-Origin"] == "https://dash.example"
        assert "X-OpenStack-Request-ID" in r.headers["Access-Control-Expose-Headers"]
        r = await ks.post("/v3/auth/tokens", json={}, headers={"Origin": "https://dash.example"})
        assert "X-Subject-Token" in r.headers["Access-Control-Expose-Headers"]
        r = await http.get("/v2/images", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in r.headers


# -- #13: the remote validator never trusts a cached answer past the token's expiry --
async def test_remote_cache_ends_with_the_token(monkeypatch: pytest.MonkeyPatch) -> None:

    calls = []
    expires = time.time() + 0.5

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        assert request.headers["OpenStack-Identity-Access-Rules"] == "1.0"
        if time.time() >= expires:
            return httpx.Response(404, json={"error": {"code": 404}})
        return httpx.Response(200, json={"token": {
            "user": {"id": "u", "domain": {"id": "default"}}, "roles": [{"name": "member"}],
            "project": {"id": "p", "domain": {"id": "default"}}, "audit_ids": ["a"],
            "expires_at": from_epoch(expires).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}})

    v = RemoteValidator("http://identity/v3", cache_seconds=3600)
    v._client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    creds = await v.validate("tok")
    assert creds.project_id == "p" and creds.roles == frozenset({"member"})
    await v.validate("tok")
    assert len(calls) == 1  # cached
    await asyncio.sleep(max(0.0, expires - time.time()) + 0.05)
    with pytest.raises(faults.Unauthorized):
        await v.validate("tok")
    assert len(calls) == 2
    await v.close()


# -- #5: what no database stores faithfully is refused the same way by every service --
async def test_unstorable_input_is_400_in_every_service(glance: Glance) -> None:
    ks = glance.ks.http
    json_ct = {"Content-Type": "application/json"}
    for r in (await ks.get("/v3/users?name=a%00b", headers=glance.admin),
              await ks.post("/v3/projects", content=b'{"project": {"name": "a\\u0000b"}}',
                            headers={**glance.admin, **json_ct}),
              await ks.post("/v3/projects", content=b'{"project": {"name": "n", "x": NaN}}',
                            headers={**glance.admin, **json_ct})):
        assert r.status_code == 400, r.text
        assert r.json()["error"]["message"].startswith("Invalid input")
    for r in (await glance.http.get("/v2/images?name=a%00b", headers=glance.alice),
              await glance.http.post("/v2/images", content=b'{"name": "x", "p": 1e999}',
                                     headers={**glance.alice, **json_ct})):
        assert r.status_code == 400, r.text
        assert r.json()["message"].startswith("Invalid input")
    # An escaped backslash followed by "u0000" is text, not NUL: it is stored as sent.
    r = await ks.post("/v3/projects", content=b'{"project": {"name": "a\\\\u0000b"}}',
                      headers={**glance.admin, **json_ct})
    assert r.status_code == 201, r.text
    assert r.json()["project"]["name"] == "a\\u0000b"
