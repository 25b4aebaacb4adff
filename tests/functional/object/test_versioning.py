"""Object versioning with version ids (X-Versions-Enabled, Swift's object_versioning) as a
client sees it: over HTTP, and through python-swiftclient and the `swift` CLI."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import swiftclient.client as sc  # type: ignore[import-untyped]

from tests.conftest import require
from tests.functional.object.conftest import Swift

MARKER = "application/x-deleted;swift_versions_deleted=1"
EMPTY_MD5 = hashlib.md5(b"").hexdigest()


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


async def _versions(swift: Swift, container: str, **params: str) -> list[dict[str, object]]:
    r = await swift.http.get(f"{swift.a}/{container}", params={"versions": "", **params},
                             headers=swift.alice)
    assert r.status_code == 200, r.text
    rows: list[dict[str, object]] = r.json()
    for row in rows:
        row.pop("last_modified", None)
    return rows


async def test_versions_enabled_put_get_list_delete_restore(swift: Swift) -> None:
    get, head = swift.http.get, swift.http.head
    assert (await swift.put(f"{swift.a}/vc", **{"X-Versions-Enabled": "true"})).status_code == 201
    r = await head(f"{swift.a}/vc", headers=swift.alice)
    assert r.headers["x-versions-enabled"] == "True"
    assert not [h for h in r.headers if "sysmeta" in h]
    ids = []
    for body, ctype in ((b"one", "text/one"), (b"two!", "text/two"), (b"three", "text/three")):
        r = await swift.put(f"{swift.a}/vc/o", body, **{"Content-Type": ctype})
        assert r.status_code == 201 and r.headers["etag"] == _md5(body)
        ids.append(r.headers["x-object-version-id"])
    assert ids == sorted(ids) and len(set(ids)) == 3
    r = await get(f"{swift.a}/vc/o", headers=swift.alice)
    assert r.content == b"three" and r.headers["x-object-version-id"] == ids[2]
    assert r.headers["content-location"] == f"{swift.a}/vc/o?version-id={ids[2]}"
    assert r.headers["content-type"] == "text/three"
    r = await get(f"{swift.a}/vc/o", params={"version-id": ids[0]}, headers=swift.alice)
    assert (r.content, r.headers["content-type"], r.headers["x-object-version-id"]) == (
        b"one", "text/one", ids[0])
    r = await get(f"{swift.a}/vc/o", headers={**swift.alice, "Range": "bytes=1-2"})
    assert r.status_code == 206 and r.content == b"hr"
    r = await get(f"{swift.a}/vc/o", headers={**swift.alice, "If-None-Match": _md5(b"three")})
    assert r.status_code == 304
    # The plain listing shows the current version's size and etag once.
    r = await get(f"{swift.a}/vc", params={"format": "json"}, headers=swift.alice)
    [row] = r.json()
    assert (row["name"], row["bytes"], row["hash"], row["content_type"]) == (
        "o", 5, _md5(b"three"), "text/three")
    assert await _versions(swift, "vc") == [
        {"name": "o", "bytes": 5, "hash": _md5(b"three"), "content_type": "text/three",
         "version_id": ids[2], "is_latest": True},
        {"name": "o", "bytes": 4, "hash": _md5(b"two!"), "content_type": "text/two",
         "version_id": ids[1], "is_latest": False},
        {"name": "o", "bytes": 3, "hash": _md5(b"one"), "content_type": "text/one",
         "version_id": ids[0], "is_latest": False}]
    r = await get(f"{swift.a}/vc", params={"versions": ""}, headers=swift.alice)
    assert r.headers["x-versions-enabled"] == "True"
    assert r.headers["x-container-bytes-used"] == "12"
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    for fmt in ({"format": "plain"}, {"format": "xml"}):
        r = await get(f"{swift.a}/vc", params={"versions": "", **fmt}, headers=swift.alice)
        assert r.status_code == 406
    # Paging: marker + version_marker continue after that version.
    page = await _versions(swift, "vc", limit="2")
    rest = await _versions(swift, "vc", marker="o", version_marker=str(page[-1]["version_id"]))
    assert [v["version_id"] for v in page + rest] == ids[::-1]
    # The container's bytes count every version; the account lists no hidden container.
    r = await head(f"{swift.a}/vc", headers=swift.alice)
    assert r.headers["x-container-bytes-used"] == "12"
    assert r.headers["x-container-object-count"] == "1"
    await swift.account_settled(swift.a, swift.alice, "x-account-bytes-used", "12")
    r = await get(swift.a, params={"format": "json"}, headers=swift.alice)
    assert [(c["name"], c["bytes"]) for c in r.json()] == [("vc", 12)]
    assert (await get(swift.a, headers=swift.alice)).text == "vc\n"

    # DELETE writes a delete marker; the object reads 404 and its versions stay.
    r = await swift.http.delete(f"{swift.a}/vc/o", headers=swift.alice)
    assert r.status_code == 204
    marker = r.headers["x-object-version-id"]
    assert (await get(f"{swift.a}/vc/o", headers=swift.alice)).status_code == 404
    r = await head(f"{swift.a}/vc/o", params={"version-id": marker}, headers=swift.alice)
    assert r.status_code == 404 and r.headers["x-object-version-id"] == marker
    assert r.headers["content-type"] == MARKER
    r = await swift.http.delete(f"{swift.a}/vc/o", headers=swift.alice)
    assert r.status_code == 404 and r.headers["x-object-version-id"] > marker
    rows = await _versions(swift, "vc")
    assert [(v["content_type"], v["is_latest"], v["hash"], v["bytes"]) for v in rows[:2]] == [
        (MARKER, True, EMPTY_MD5, 0), (MARKER, False, EMPTY_MD5, 0)]
    assert (await get(f"{swift.a}/vc", headers=swift.alice)).status_code == 204

    # PUT ?version-id with no body makes an old version the latest again.
    r = await swift.http.put(f"{swift.a}/vc/o", params={"version-id": ids[1]}, content=b"",
                             headers=swift.alice)
    assert r.status_code == 201 and r.headers["x-object-version-id"] == ids[1]
    r = await get(f"{swift.a}/vc/o", headers=swift.alice)
    assert r.content == b"two!" and r.headers["content-type"] == "text/two"
    rows = await _versions(swift, "vc")
    assert [(v["version_id"], v["is_latest"]) for v in rows] == [
        (rows[0]["version_id"], False), (marker, False), (ids[2], False), (ids[1], True),
        (ids[0], False)]
    rows = await _versions(swift, "vc", reverse="true")
    assert [(v["version_id"], v["is_latest"]) for v in rows] == [
        (ids[0], False), (ids[1], True), (ids[2], False), (marker, False),
        (rows[-1]["version_id"], False)]
    for vid, status in (("null", 400), ("bad", 400), ("1234567890.12345", 404)):
        r = await swift.http.put(f"{swift.a}/vc/o", params={"version-id": vid}, content=b"",
                                 headers=swift.alice)
        assert r.status_code == status, vid
    r = await swift.http.put(f"{swift.a}/vc/o", params={"version-id": ids[0]},
                             content=b"body", headers=swift.alice)
    assert r.status_code == 400
    r = await swift.http.post(f"{swift.a}/vc/o", params={"version-id": ids[0]},
                              headers=swift.alice)
    assert r.status_code == 400

    # DELETE ?version-id removes that version only; the current one's removes the object.
    r = await swift.http.delete(f"{swift.a}/vc/o", params={"version-id": ids[0]},
                                headers=swift.alice)
    assert r.status_code == 204 and r.headers["x-object-current-version-id"] == ids[1]
    assert (await get(f"{swift.a}/vc/o", headers=swift.alice)).content == b"two!"
    r = await swift.http.delete(f"{swift.a}/vc/o", params={"version-id": ids[1]},
                                headers=swift.alice)
    assert r.status_code == 204 and r.headers["x-object-current-version-id"] == "null"
    assert (await get(f"{swift.a}/vc/o", headers=swift.alice)).status_code == 404
    assert ids[0] not in {v["version_id"] for v in await _versions(swift, "vc")}

    # A container keeps its versions: deleting it needs them all gone first.
    assert (await swift.http.delete(f"{swift.a}/vc", headers=swift.alice)).status_code == 409
    await swift.http.post(f"{swift.a}/vc", headers={**swift.alice, "X-Versions-Enabled": "false"})
    assert (await swift.http.delete(f"{swift.a}/vc", headers=swift.alice)).status_code == 409
    for v in await _versions(swift, "vc"):
        r = await swift.http.delete(f"{swift.a}/vc/{v['name']}",
                                    params={"version-id": str(v["version_id"])},
                                    headers=swift.alice)
        assert r.status_code == 204
    assert (await swift.http.delete(f"{swift.a}/vc", headers=swift.alice)).status_code == 204
    r = await get(swift.a, params={"format": "json"}, headers=swift.alice)
    assert r.json() == []


async def test_null_versions_disabling_post_and_copy(swift: Swift) -> None:
    get = swift.http.get
    await swift.put(f"{swift.a}/c")
    r = await swift.put(f"{swift.a}/c/n", b"before", **{"Content-Type": "text/before"})
    assert "x-object-version-id" not in r.headers
    assert "x-object-version-id" not in (await get(f"{swift.a}/c/n", headers=swift.alice)
                                         ).headers
    r = await swift.http.post(f"{swift.a}/c", headers={**swift.alice,
                                                       "X-Versions-Enabled": "True"})
    assert r.status_code == 204
    # An object from before versioning is the "null" version.
    r = await get(f"{swift.a}/c/n", headers=swift.alice)
    assert r.headers["x-object-version-id"] == "null"
    r = await get(f"{swift.a}/c/n", params={"version-id": "null"}, headers=swift.alice)
    assert r.content == b"before" and r.headers["x-object-version-id"] == "null"
    assert [(v["version_id"], v["is_latest"]) for v in await _versions(swift, "c")] == [
        ("null", True)]
    # Overwriting it keeps it as a version of its own, under its timestamp.
    v2 = (await swift.put(f"{swift.a}/c/n", b"after")).headers["x-object-version-id"]
    rows = await _versions(swift, "c")
    assert [(v["version_id"] == v2, v["is_latest"], v["content_type"]) for v in rows] == [
        (True, True, "application/octet-stream"), (False, False, "text/before")]
    old = str(rows[1]["version_id"])
    r = await get(f"{swift.a}/c/n", params={"version-id": old}, headers=swift.alice)
    assert r.content == b"before"
    r = await get(f"{swift.a}/c/n", params={"version-id": "null"}, headers=swift.alice)
    assert r.status_code == 404  # the current object has a real version id now

    # POST changes the current version's metadata, without a new version.
    r = await swift.http.post(f"{swift.a}/c/n", headers={
        **swift.alice, "X-Object-Meta-Color": "blue", "Content-Type": "text/updated"})
    assert r.status_code == 202
    r = await swift.http.head(f"{swift.a}/c/n", params={"version-id": v2}, headers=swift.alice)
    assert r.headers["x-object-meta-color"] == "blue"
    assert r.headers["content-type"] == "text/updated"
    rows = await _versions(swift, "c")
    assert len(rows) == 2 and rows[0]["content_type"] == "text/updated"
    r = await get(f"{swift.a}/c", params={"format": "json"}, headers=swift.alice)
    assert [(o["name"], o["content_type"], o["bytes"]) for o in r.json()] == [
        ("n", "text/updated", 5)]

    # COPY ?version-id restores an old version as a new one.
    r = await swift.http.request("COPY", f"{swift.a}/c/n", params={"version-id": old},
                                 headers={**swift.alice, "Destination": "c/n"})
    assert r.status_code == 201
    v3 = r.headers["x-object-version-id"]
    assert v3 > v2
    assert (await get(f"{swift.a}/c/n", headers=swift.alice)).content == b"before"

    # With versioning off, writes have no version id and replace the current object only.
    await swift.http.post(f"{swift.a}/c", headers={**swift.alice, "X-Versions-Enabled": "no"})
    r = await swift.http.head(f"{swift.a}/c", headers=swift.alice)
    assert r.headers["x-versions-enabled"] == "False"
    r = await swift.put(f"{swift.a}/c/n", b"unversioned")
    assert r.status_code == 201 and "x-object-version-id" not in r.headers
    rows = await _versions(swift, "c")
    assert (rows[0]["version_id"], rows[0]["is_latest"]) == ("null", True)
    assert len(rows) == 4
    r = await swift.http.delete(f"{swift.a}/c/n", headers=swift.alice)
    assert r.status_code == 204 and "x-object-version-id" not in r.headers
    assert len(await _versions(swift, "c")) == 3  # no delete marker
    # A version-aware request to a container that was never versioned is refused.
    await swift.put(f"{swift.a}/plain")
    await swift.put(f"{swift.a}/plain/o", b"x")
    r = await get(f"{swift.a}/plain/o", params={"version-id": v2}, headers=swift.alice)
    assert r.status_code == 400
    r = await get(f"{swift.a}/plain/o", params={"version-id": "null"}, headers=swift.alice)
    assert r.status_code == 200
    assert [v["version_id"] for v in await _versions(swift, "plain")] == ["null"]


async def test_legacy_modes_do_not_mix_and_hidden_names_are_refused(swift: Swift) -> None:
    await swift.put(f"{swift.a}/archive")
    r = await swift.put(f"{swift.a}/legacy", **{"X-Versions-Location": "archive"})
    assert r.status_code == 201
    for flag in ("true", "false"):
        r = await swift.http.post(f"{swift.a}/legacy", headers={
            **swift.alice, "X-Versions-Enabled": flag})
        assert r.status_code == 400 and b"legacy versioned writes" in r.content
    r = await swift.put(f"{swift.a}/both", **{"X-Versions-Enabled": "true",
                                              "X-History-Location": "archive"})
    assert r.status_code == 400
    assert (await swift.http.head(f"{swift.a}/both", headers=swift.alice)).status_code == 404
    await swift.put(f"{swift.a}/new", **{"X-Versions-Enabled": "true"})
    for header in ("X-Versions-Location", "X-History-Location"):
        r = await swift.http.post(f"{swift.a}/new", headers={**swift.alice, header: "archive"})
        assert r.status_code == 400
    # The legacy mode still works, and ?version-id=null is plain there.
    for v in (b"1", b"2"):
        await swift.put(f"{swift.a}/legacy/o", v)
    r = await swift.http.delete(f"{swift.a}/legacy/o", params={"version-id": "null"},
                                headers=swift.alice)
    assert r.status_code == 204
    assert (await swift.http.get(f"{swift.a}/legacy/o", headers=swift.alice)).content == b"1"
    # The versions live in a container no client can name: a NUL in a path is refused
    # (400 by Overcast's input guard; Swift says 412), in a bulk delete's list too.
    await swift.put(f"{swift.a}/new/o", b"x")
    for path in (f"{swift.a}/%00versions%00new", f"{swift.a}/%00versions%00new/o",
                 f"{swift.a}/new/%00o"):
        r = await swift.http.get(path, headers=swift.alice)
        assert r.status_code == 400, path
    r = await swift.http.post(f"{swift.a}/new", headers={
        **swift.alice, "X-Versions-Location": "%00versions%00new"})
    assert r.status_code == 400
    r = await swift.put(f"{swift.a}/archive/dlo", b"",
                        **{"X-Object-Manifest": "%00versions%00new/"})
    assert r.status_code == 400
    r = await swift.http.put(f"{swift.a}/archive/slo", params={"multipart-manifest": "put"},
                             content=b'[{"path": "/%00versions%00new/%00o%0099"}]',
                             headers=swift.alice)
    assert r.status_code == 400
    r = await swift.put(f"{swift.a}/archive/copy", b"",
                        **{"X-Copy-From": "%00versions%00new/o"})
    assert r.status_code == 412
    r = await swift.http.post(swift.a, params={"bulk-delete": ""},
                              content=b"/%00versions%00new/%00o%0099\n",
                              headers={**swift.alice, "Accept": "application/json",
                                       "Content-Type": "text/plain"})
    assert r.json()["Errors"] and r.json()["Number Deleted"] == 0
    info = (await swift.http.get("/info")).json()
    assert info["object_versioning"] == {}
    # The hidden containers stay out of account listings, either way round.
    r = await swift.http.get(swift.a, params={"reverse": "true"}, headers=swift.alice)
    assert r.text == "new\nlegacy\narchive\n"
    # No versions container is made for a container that is not there.
    before = (await swift.http.head(swift.a, headers=swift.alice)).headers
    r = await swift.http.post(f"{swift.a}/ghost", headers={**swift.alice,
                                                           "X-Versions-Enabled": "true"})
    assert r.status_code == 404
    after = (await swift.http.head(swift.a, headers=swift.alice)).headers
    assert after["x-account-container-count"] == before["x-account-container-count"]


async def test_large_objects_and_bulk_in_versioned_containers(swift: Swift) -> None:
    a = swift.a
    await swift.put(f"{a}/segs", **{"X-Versions-Enabled": "true"})
    await swift.put(f"{a}/segs/p/1", b"old")
    await swift.put(f"{a}/segs/p/1", b"aaa")
    await swift.put(f"{a}/segs/p/2", b"bb")
    await swift.put(f"{a}/segs/dlo", b"", **{"X-Object-Manifest": "segs/p/"})
    assert (await swift.http.get(f"{a}/segs/dlo", headers=swift.alice)).content == b"aaabb"
    r = await swift.http.put(f"{a}/segs/slo", params={"multipart-manifest": "put"},
                             content=json.dumps([{"path": "/segs/p/2", "etag": _md5(b"bb")},
                                                 {"path": "/segs/p/1"}]).encode(),
                             headers=swift.alice)
    assert r.status_code == 201 and r.headers["x-object-version-id"]
    r = await swift.http.get(f"{a}/segs/slo", headers={**swift.alice, "Range": "bytes=1-3"})
    assert r.status_code == 206 and r.content == b"baa"
    rows = await _versions(swift, "segs", prefix="slo")
    assert [(v["bytes"], v["is_latest"]) for v in rows] == [(5, True)]
    # Bulk delete leaves delete markers, and refuses a container that still has versions.
    r = await swift.http.post(a, params={"bulk-delete": ""}, content=b"/segs/p/2\n/segs\n",
                              headers={**swift.alice, "Accept": "application/json",
                                       "Content-Type": "text/plain"})
    body = r.json()
    assert body["Number Deleted"] == 1 and body["Errors"][0][1].startswith("409")
    rows = await _versions(swift, "segs", prefix="p/2")
    assert [v["content_type"] for v in rows] == [MARKER, "application/octet-stream"]


async def test_swiftclient_and_cli_see_versions(swift: Swift, tmp_path: Path) -> None:
    exe = shutil.which("swift", path=str(Path(sys.executable).parent))
    require("swift CLI", exe is not None, "pip install python-swiftclient")
    assert exe is not None
    token = swift.alice["X-Auth-Token"]
    async with swift.listening() as base:
        url = f"{base}{swift.a}"

        def client_flow() -> tuple[list[str], list[dict[str, object]], bytes]:
            sc.put_container(url, token, "docs", headers={"X-Versions-Enabled": "true"})
            vids = []
            for body in (b"draft", b"final"):
                resp: dict[str, Any] = {}
                sc.put_object(url, token, "docs", "report.txt", body, response_dict=resp)
                vids.append(resp["headers"]["x-object-version-id"])
            _h, listing = sc.get_container(url, token, "docs", query_string="versions")
            _h, first = sc.get_object(url, token, "docs", "report.txt",
                                      query_string=f"version-id={vids[0]}")
            return vids, listing, first

        vids, listing, first = await asyncio.to_thread(client_flow)
        assert first == b"draft"
        assert [(v["version_id"], v["is_latest"]) for v in listing] == [
            (vids[1], True), (vids[0], False)]

        def cli(*args: str) -> str:
            r = subprocess.run([exe, "--os-storage-url", url, "--os-auth-token", token, *args],
                               capture_output=True, text=True, timeout=120, cwd=tmp_path)
            assert r.returncode == 0, r.stderr
            return r.stdout

        out = await asyncio.to_thread(cli, "list", "--versions", "docs")
        assert vids[0] in out and vids[1] in out
        await asyncio.to_thread(cli, "delete", "docs", "report.txt", "--version-id", vids[0])
        _h, listing = await asyncio.to_thread(sc.get_container, url, token, "docs",
                                              query_string="versions")
        assert [v["version_id"] for v in listing] == [vids[1]]
        stat = await asyncio.to_thread(cli, "stat", "docs")
        assert "Versions-Enabled: True" in stat or "X-Versions-Enabled: True" in stat, stat
    assert json.loads((await swift.http.get(f"{swift.a}/docs", params={
        "format": "json"}, headers=swift.alice)).text)[0]["bytes"] == 5
