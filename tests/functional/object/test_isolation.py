"""Cross-project isolation of object storage: another project's member (bob) and anonymous
callers are refused every account, container and object operation no ACL opens (403 for an
authenticated caller, 401 for an anonymous one, as Swift's keystoneauth answers), and an ACL
opens what it says and nothing more."""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import tarfile
import time
from typing import Any

import httpx
import pytest
import swiftclient.client as sc  # type: ignore[import-untyped]

from tests.functional.object.conftest import Swift

Op = tuple[str, str, dict[str, str], dict[str, str], bytes]


def _tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("c/planted")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    return buf.getvalue()


def _tempurl(key: str, method: str, path: str, expires: int) -> dict[str, str]:
    sig = hmac.new(key.encode(), f"{method}\n{expires}\n{path}".encode(), "sha256").hexdigest()
    return {"temp_url_sig": sig, "temp_url_expires": str(expires)}


def _form(path: str, key: str, expires: int) -> tuple[bytes, str]:
    sig = hmac.new(key.encode(), f"{path}\n\n1024\n1\n{expires}".encode(), "sha256").hexdigest()
    fields = {"redirect": "", "max_file_size": "1024", "max_file_count": "1",
              "expires": str(expires), "signature": sig}
    body = "".join(f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                   for k, v in fields.items()).encode()
    body += (b'--B\r\nContent-Disposition: form-data; name="file"; filename="planted"\r\n'
             b"Content-Type: text/plain\r\n\r\nx\r\n--B--\r\n")
    return body, "multipart/form-data; boundary=B"


async def _send(swift: Swift, op: Op, who: dict[str, str]) -> httpx.Response:
    method, path, params, headers, body = op
    return await swift.http.request(method, path, params=params, content=body,
                                    headers={**who, **headers})


async def _expect(swift: Swift, ops: list[Op], who: dict[str, str], status: int) -> None:
    got = [(op[0], op[1].rsplit("/v1/", 1)[-1], op[2], (await _send(swift, op, who)).status_code)
           for op in ops]
    wrong = [g for g in got if g[3] != status]
    assert not wrong, f"expected {status}: {wrong}"


@pytest.fixture
async def alice_data(swift: Swift) -> dict[str, str]:
    """Alice's private container (versioned, with three objects incl. a DLO and an SLO, temp
    URL keys on account and container) and an empty one."""
    a = swift.a
    assert (await swift.put(f"{a}/priv", **{"X-Versions-Enabled": "true",
                                            "X-Container-Meta-Temp-URL-Key": "ck"})
            ).status_code == 201
    await swift.http.post(a, headers={**swift.alice, "X-Account-Meta-Temp-URL-Key": "ak"})
    await swift.put(f"{a}/empty")
    v1 = (await swift.put(f"{a}/priv/o", b"secret-1")).headers["x-object-version-id"]
    await swift.put(f"{a}/priv/o", b"secret-2", **{"X-Object-Meta-Owner": "alice"})
    return {"v1": v1}


def _refused_ops(swift: Swift, v1: str) -> list[Op]:
    """Every kind of request on alice's account that must not work for anyone but her."""
    a, none = swift.a, b""
    tar = _tar()
    return [
        ("HEAD", a, {}, {}, none), ("GET", a, {}, {}, none),
        ("GET", a, {"format": "json"}, {}, none),
        ("POST", a, {}, {"X-Account-Meta-X": "y"}, none),
        ("POST", a, {}, {"X-Account-Meta-Temp-URL-Key": "mine"}, none),
        ("POST", a, {"bulk-delete": ""}, {"Content-Type": "text/plain"}, b"/priv/o\n"),
        ("DELETE", a, {"bulk-delete": ""}, {}, b"/priv/o\n"),
        ("PUT", a, {"extract-archive": "tar"}, {}, tar),
        ("HEAD", f"{a}/priv", {}, {}, none), ("GET", f"{a}/priv", {}, {}, none),
        ("GET", f"{a}/priv", {"format": "json", "prefix": "o"}, {}, none),
        ("GET", f"{a}/priv", {"versions": ""}, {}, none),
        ("GET", f"{a}/nope", {}, {}, none), ("HEAD", f"{a}/nope", {}, {}, none),
        ("PUT", f"{a}/planted", {}, {}, none), ("PUT", f"{a}/priv", {}, {}, none),
        ("POST", f"{a}/priv", {}, {"X-Container-Read": ".r:*,.rlistings"}, none),
        ("POST", f"{a}/priv", {}, {"X-Versions-Enabled": "false"}, none),
        ("POST", f"{a}/priv", {}, {"X-Container-Meta-Temp-URL-Key": "mine"}, none),
        ("DELETE", f"{a}/empty", {}, {}, none),
        ("PUT", f"{a}/empty", {"extract-archive": "tar"}, {}, tar),
        ("GET", f"{a}/priv/o", {}, {}, none), ("HEAD", f"{a}/priv/o", {}, {}, none),
        ("GET", f"{a}/priv/o", {"version-id": v1}, {}, none),
        ("GET", f"{a}/priv/o", {"version-id": "null"}, {}, none),
        ("GET", f"{a}/priv/o", {"multipart-manifest": "get"}, {}, none),
        ("GET", f"{a}/priv/o", {}, {"Range": "bytes=0-1"}, none),
        ("GET", f"{a}/priv/nope", {}, {}, none),
        ("PUT", f"{a}/priv/o", {}, {}, b"overwritten"),
        ("PUT", f"{a}/priv/new", {}, {}, b"planted"),
        ("PUT", f"{a}/priv/new", {}, {"X-Copy-From": "priv/o"}, none),
        ("PUT", f"{a}/priv/o", {"version-id": v1}, {}, none),
        ("PUT", f"{a}/priv/m", {"multipart-manifest": "put"}, {},
         json.dumps([{"path": "/priv/o"}]).encode()),
        ("POST", f"{a}/priv/o", {}, {"X-Object-Meta-Owner": "bob"}, none),
        ("POST", f"{a}/priv/o", {}, {"X-Delete-After": "1"}, none),
        ("DELETE", f"{a}/priv/o", {}, {}, none),
        ("DELETE", f"{a}/priv/o", {"version-id": v1}, {}, none),
        ("DELETE", f"{a}/priv/o", {"version-id": "null"}, {}, none),
        ("DELETE", f"{a}/priv/o", {"multipart-manifest": "delete"}, {}, none),
        ("COPY", f"{a}/priv/o", {}, {"Destination": "priv/o2"}, none),
        ("COPY", f"{a}/priv/o", {}, {"Destination": "mine/o",
                                     "Destination-Account": f"AUTH_{swift.beta}"}, none),
        ("COPY", f"{a}/priv/o", {"version-id": v1},
         {"Destination": "mine/o", "Destination-Account": f"AUTH_{swift.beta}"}, none),
    ]


async def test_another_project_and_anonymous_are_refused_everything(
        swift: Swift, alice_data: dict[str, str]) -> None:
    await swift.put(f"{swift.b}/mine", b"", swift.bob)
    await swift.http.post(swift.b, headers={**swift.bob, "X-Account-Meta-Temp-URL-Key":
                                            "bobs-key"})
    ops = _refused_ops(swift, alice_data["v1"])
    await _expect(swift, ops, swift.bob, 403)
    await _expect(swift, ops, {}, 401)
    # The admin role is an operator role of its own project only (keystoneauth): the cloud
    # admin, admin of project "admin", is another project's member here too.
    await _expect(swift, ops, swift.admin, 403)
    # Nothing changed: alice still reads what she wrote, and nothing was planted.
    r = await swift.http.get(f"{swift.a}/priv/o", headers=swift.alice)
    assert (r.content, r.headers["x-object-meta-owner"]) == (b"secret-2", "alice")
    assert "x-delete-at" not in r.headers
    r = await swift.http.get(f"{swift.a}/priv", params={"versions": "", "format": "json"},
                             headers=swift.alice)
    assert [v["name"] for v in r.json()] == ["o", "o"]
    r = await swift.http.get(swift.a, params={"format": "json"}, headers=swift.alice)
    assert [c["name"] for c in r.json()] == ["empty", "priv"]
    r = await swift.http.head(swift.a, headers=swift.alice)
    assert "x-account-meta-x" not in r.headers
    assert r.headers["x-account-meta-temp-url-key"] == "ak"
    r = await swift.http.head(f"{swift.a}/priv", headers=swift.alice)
    assert "x-container-read" not in r.headers and r.headers["x-versions-enabled"] == "True"
    assert (await swift.http.get(f"{swift.b}/mine", headers=swift.bob)).status_code == 204

    # Temp URLs: a wrong key, an expired signature or another path open nothing (401).
    exp, a = int(time.time()) + 60, swift.a
    for method in ("GET", "HEAD", "PUT", "POST", "DELETE"):
        r = await swift.http.request(method, f"{a}/priv/o", content=b"" if method != "PUT"
                                     else b"x", params=_tempurl("wrong", method,
                                                                f"{a}/priv/o", exp))
        assert r.status_code == 401, method
    r = await swift.http.get(f"{a}/priv/o", params=_tempurl("ak", "GET", f"{a}/priv/o",
                                                            int(time.time()) - 1))
    assert r.status_code == 401
    r = await swift.http.get(f"{a}/priv/o", params=_tempurl("ak", "GET", f"{a}/priv/x", exp))
    assert r.status_code == 401
    # a signature decides alone (Swift's tempurl runs before auth): a bad one is 401 even
    # with a token, signed with another account's key or for another method
    for method, key, signed in (("GET", "bobs-key", "GET"), ("PUT", "ak", "GET")):
        for who in (swift.bob, {}):
            r = await swift.http.request(method, f"{a}/priv/o", content=b"x" * (
                method == "PUT"), headers=who, params=_tempurl(key, signed, f"{a}/priv/o", exp))
            assert r.status_code == 401, (method, key)
    # ... while the right one opens exactly that object (and ignores ?version-id, as Swift)
    r = await swift.http.get(f"{a}/priv/o", params={
        **_tempurl("ck", "GET", f"{a}/priv/o", exp), "version-id": alice_data["v1"]})
    assert r.status_code == 200 and r.content == b"secret-2"
    # Form POST: bob's key and a wrong signature are refused; nothing lands.
    for key in ("bobs-key", "wrong"):
        body, ctype = _form(f"{a}/priv/", key, exp)
        r = await swift.http.post(f"{a}/priv/", content=body, headers={"Content-Type": ctype})
        assert r.status_code == 401, key
        body, ctype = _form(f"{a}/priv/", key, exp)
        r = await swift.http.post(f"{a}/priv/", content=body, headers={
            **swift.bob, "Content-Type": ctype})
        assert r.status_code == 401, key
    assert (await swift.http.head(f"{a}/priv/planted", headers=swift.alice)).status_code == 404


async def test_swiftclient_sees_the_refusals(swift: Swift,
                                             alice_data: dict[str, str]) -> None:
    bob_token = swift.bob["X-Auth-Token"]
    async with swift.listening() as base:
        url = f"{base}{swift.a}"

        def refusals() -> list[tuple[str, int]]:
            calls: list[tuple[str, Any]] = [
                ("get_account", lambda t: sc.get_account(url, t)),
                ("get_container", lambda t: sc.get_container(url, t, "priv")),
                ("versions", lambda t: sc.get_container(url, t, "priv",
                                                        query_string="versions")),
                ("head_object", lambda t: sc.head_object(url, t, "priv", "o")),
                ("get_object", lambda t: sc.get_object(url, t, "priv", "o")),
                ("put_object", lambda t: sc.put_object(url, t, "priv", "o", b"x")),
                ("post_object", lambda t: sc.post_object(url, t, "priv", "o", {})),
                ("delete_object", lambda t: sc.delete_object(url, t, "priv", "o")),
                ("delete_container", lambda t: sc.delete_container(url, t, "empty")),
            ]
            out = []
            for name, call in calls:
                for token in (bob_token, ""):
                    try:
                        call(token)
                        out.append((name, 200))
                    except sc.ClientException as e:
                        out.append((name, e.http_status))
            return out

        got = await asyncio.to_thread(refusals)
    assert got == [(name, status) for name, _ in got[::2] for status in (403, 401)]


async def test_acls_open_what_they_say_and_nothing_more(
        swift: Swift, alice_data: dict[str, str]) -> None:
    a, v1 = swift.a, alice_data["v1"]
    http = swift.http
    await swift.put(f"{swift.b}/mine", b"", swift.bob)
    # A large object in a shared container, whose segments stay in a private one.
    await swift.put(f"{a}/segs")
    await swift.put(f"{a}/segs/p/1", b"seg-one")
    await swift.put(f"{a}/shared")
    await swift.put(f"{a}/shared/dlo", b"", **{"X-Object-Manifest": "segs/p/"})
    r = await http.put(f"{a}/shared/slo", params={"multipart-manifest": "put"},
                       content=json.dumps([{"path": "/segs/p/1"}]).encode(), headers=swift.alice)
    assert r.status_code == 201
    await swift.put(f"{a}/shared/o", b"shared")

    async def status(method: str, path: str, who: dict[str, str], **kw: Any) -> int:
        return (await http.request(method, path, headers={**who, **kw.pop("headers", {})},
                                   **kw)).status_code

    # project:user read: bob reads and lists that container, and nothing else of alice's.
    await http.post(f"{a}/priv", headers={**swift.alice,
                                          "X-Container-Read": f"{swift.beta}:{swift.bob_id}"})
    assert (await http.get(f"{a}/priv/o", headers=swift.bob)).content == b"secret-2"
    assert await status("HEAD", f"{a}/priv/o", swift.bob) == 200
    assert (await http.get(f"{a}/priv", headers=swift.bob)).text == "o\n"
    assert await status("GET", f"{a}/priv", swift.bob, params={"versions": ""}) == 200
    r = await http.request("COPY", f"{a}/priv/o", headers={
        **swift.bob, "Destination": "mine/copied", "Destination-Account": f"AUTH_{swift.beta}"})
    assert r.status_code == 201  # read is enough to copy out into one's own account
    assert (await http.get(f"{swift.b}/mine/copied", headers=swift.bob)).content == b"secret-2"
    read_only_refused: list[tuple[str, str, dict[str, Any]]] = [
        ("PUT", f"{a}/priv/o", {"content": b"x"}), ("PUT", f"{a}/priv/new", {"content": b"x"}),
        ("POST", f"{a}/priv/o", {"headers": {"X-Object-Meta-A": "b"}}),
        ("DELETE", f"{a}/priv/o", {}),
        ("COPY", f"{a}/priv/o", {"headers": {"Destination": "priv/o2"}}),
        ("GET", f"{a}/priv/o", {"params": {"version-id": v1}}),
        ("DELETE", f"{a}/priv/o", {"params": {"version-id": v1}}),
        ("COPY", f"{a}/priv/o", {"params": {"version-id": v1}, "headers": {
            "Destination": "mine/old", "Destination-Account": f"AUTH_{swift.beta}"}}),
        ("POST", f"{a}/priv", {"headers": {"X-Container-Write": f"*:{swift.bob_id}"}}),
        ("POST", f"{a}/priv", {"headers": {"X-Container-Read": ".r:*"}}),
        ("DELETE", f"{a}/empty", {}), ("GET", f"{a}/empty", {}), ("GET", a, {}),
        ("GET", f"{a}/shared/o", {}), ("PUT", f"{a}/priv2", {}),
    ]
    for method, path, kw in read_only_refused:
        assert await status(method, path, swift.bob, **kw) == 403, (method, path, kw)
    assert await status("GET", f"{a}/priv/o", {}) == 401

    # Write only: bob writes objects, but reads and lists nothing.
    await http.post(f"{a}/priv", headers={**swift.alice, "X-Remove-Container-Read": "x",
                                          "X-Container-Write": f"{swift.beta}:{swift.bob_id}"})
    assert await status("PUT", f"{a}/priv/dropbox", swift.bob, content=b"from bob") == 201
    assert await status("POST", f"{a}/priv/dropbox", swift.bob,
                        headers={"X-Object-Meta-A": "b"}) == 202
    write_only_refused: list[tuple[str, str, dict[str, Any]]] = [
                             ("GET", f"{a}/priv/dropbox", {}), ("HEAD", f"{a}/priv/o", {}),
                             ("GET", f"{a}/priv", {}),
                             ("GET", f"{a}/priv", {"params": {"versions": ""}}),
                             ("DELETE", f"{a}/priv/o", {"params": {"version-id": v1}}),
                             ("POST", f"{a}/priv", {"headers": {"X-Container-Meta-A": "b"}}),
                             ("DELETE", f"{a}/empty", {})]
    for method, path, kw in write_only_refused:
        assert await status(method, path, swift.bob, **kw) == 403, (method, path, kw)
    assert await status("DELETE", f"{a}/priv/dropbox", swift.bob) == 204
    assert await status("PUT", f"{a}/priv/x", {}, content=b"x") == 401
    r = await http.get(f"{a}/priv/o", params={"version-id": v1}, headers=swift.alice)
    assert r.content == b"secret-1"  # bob's writes left alice's versions alone

    # .r:* opens objects to anyone, not the listing, not writes, not older versions.
    await http.post(f"{a}/shared", headers={**swift.alice, "X-Container-Read": ".r:*"})
    assert (await http.get(f"{a}/shared/o")).content == b"shared"
    assert await status("HEAD", f"{a}/shared/o", {}) == 200
    assert (await http.get(f"{a}/shared/o", headers=swift.bob)).content == b"shared"
    public_refused: list[tuple[str, str, dict[str, Any], int, int]] = [
            ("GET", f"{a}/shared", {}, 401, 403), ("HEAD", f"{a}/shared", {}, 401, 403),
            ("GET", f"{a}/shared", {"params": {"versions": ""}}, 401, 403),
            ("PUT", f"{a}/shared/o", {"content": b"x"}, 401, 403),
            ("POST", f"{a}/shared/o", {"headers": {"X-Object-Meta-A": "b"}}, 401, 403),
            ("DELETE", f"{a}/shared/o", {}, 401, 403),
            ("GET", f"{a}/segs/p/1", {}, 401, 403),
            # a large object's segments in a container the ACL does not open stay closed
            ("GET", f"{a}/shared/dlo", {}, 401, 403), ("HEAD", f"{a}/shared/dlo", {}, 401, 403),
            ("GET", f"{a}/shared/slo", {}, 401, 403),
            ("GET", f"{a}/priv/o", {}, 401, 403)]
    for method, path, kw, anon, other in public_refused:
        assert await status(method, path, {}, **kw) == anon, (method, path, kw)
        assert await status(method, path, swift.bob, **kw) == other, (method, path, kw)
    assert (await http.get(f"{a}/shared/slo", headers=swift.alice)).content == b"seg-one"
    # ... and once the segments' container is readable too, the large objects read whole.
    await http.post(f"{a}/segs", headers={**swift.alice, "X-Container-Read": ".r:*,.rlistings"})
    assert (await http.get(f"{a}/shared/slo")).content == b"seg-one"
    assert (await http.get(f"{a}/shared/dlo")).content == b"seg-one"

    # .rlistings adds the listing (GET and HEAD), still no writes.
    await http.post(f"{a}/shared", headers={**swift.alice,
                                            "X-Container-Read": ".r:*,.rlistings"})
    assert (await http.get(f"{a}/shared")).text == "dlo\no\nslo\n"
    assert await status("HEAD", f"{a}/shared", {}) == 204
    assert await status("PUT", f"{a}/shared/o", {}, content=b"x") == 401
    assert await status("DELETE", f"{a}/shared", {}) == 401
    assert await status("POST", f"{a}/shared", {}, headers={"X-Container-Read": ""}) == 401
    # A referrer ACL opens objects only to pages of that host.
    await http.post(f"{a}/shared", headers={**swift.alice,
                                            "X-Container-Read": ".r:.example.com"})
    assert await status("GET", f"{a}/shared/o", {}) == 401
    assert await status("GET", f"{a}/shared/o", {},
                        headers={"Referer": "http://www.example.com/page"}) == 200
    assert await status("GET", f"{a}/shared/o", {},
                        headers={"Referer": "http://example.org/"}) == 401
