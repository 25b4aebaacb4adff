"""The Swift API in-process: objects, containers, accounts as a client sees them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import tarfile
import time
from collections.abc import AsyncIterator

from tests.functional.object.conftest import Swift

NOT_FOUND_PAGE = b"<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"


async def test_put_get_head_delete_round_trip(swift: Swift) -> None:
    assert (await swift.put(f"{swift.a}/c1")).status_code == 201
    data = b"hello world" * 1000
    r = await swift.put(f"{swift.a}/c1/dir/obj.txt", data, **{"X-Object-Meta-Color": "blue"})
    assert r.status_code == 201
    assert r.headers["etag"] == hashlib.md5(data).hexdigest()
    r = await swift.http.get(f"{swift.a}/c1/dir/obj.txt", headers=swift.alice)
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-type"] == "text/plain"  # guessed from the name
    assert r.headers["x-object-meta-color"] == "blue"
    assert r.headers["x-trans-id"].startswith("tx")
    r = await swift.http.head(f"{swift.a}/c1/dir/obj.txt", headers=swift.alice)
    assert r.status_code == 200 and r.headers["content-length"] == str(len(data))
    r = await swift.http.delete(f"{swift.a}/c1/dir/obj.txt", headers=swift.alice)
    assert r.status_code == 204
    r = await swift.http.get(f"{swift.a}/c1/dir/obj.txt", headers=swift.alice)
    assert r.status_code == 404 and r.content == NOT_FOUND_PAGE
    assert r.headers["content-type"] == "text/html; charset=UTF-8"
    r = await swift.http.delete(f"{swift.a}/c1/dir/obj.txt", headers=swift.alice)
    assert r.status_code == 404


async def test_every_replica_holds_the_object(swift: Swift) -> None:
    await swift.put(f"{swift.a}/c1")
    await swift.put(f"{swift.a}/c1/o", b"x" * 10)
    files = list(swift.config.object_devices.rglob("*.data"))
    assert len(files) == 3
    assert {f.relative_to(swift.config.object_devices).parts[0] for f in files} == {
        "d1", "d2", "d3"}


async def test_a_wrong_etag_is_refused_and_nothing_is_stored(swift: Swift) -> None:
    await swift.put(f"{swift.a}/c1")
    r = await swift.put(f"{swift.a}/c1/o", b"data", ETag="0" * 32)
    assert r.status_code == 422
    assert (await swift.http.get(f"{swift.a}/c1/o", headers=swift.alice)).status_code == 404
    assert not list(swift.config.object_devices.rglob("*.data"))


async def test_chunked_upload(swift: Swift) -> None:
    await swift.put(f"{swift.a}/c1")

    async def body() -> AsyncIterator[bytes]:
        for i in range(5):
            yield bytes([65 + i]) * 1000

    r = await swift.http.put(f"{swift.a}/c1/chunked", content=body(), headers=swift.alice)
    assert r.status_code == 201
    r = await swift.http.get(f"{swift.a}/c1/chunked", headers=swift.alice)
    assert r.content == b"".join(bytes([65 + i]) * 1000 for i in range(5))


async def test_missing_length_and_limits(swift: Swift) -> None:
    await swift.put(f"{swift.a}/c1")
    r = await swift.put(f"{swift.a}/c1/{'x' * 1025}", b"")
    assert r.status_code == 400 and b"longer than 1024" in r.content
    r = await swift.put(f"{swift.a}/c1/o", b"", **{"X-Object-Meta-" + "k" * 129: "v"})
    assert r.status_code == 400 and b"Metadata name too long" in r.content
    r = await swift.put(f"{swift.a}/c1/o", b"", **{"X-Object-Meta-K": "v" * 257})
    assert r.status_code == 400
    r = await swift.put(f"{swift.a}/{'c' * 257}")
    assert r.status_code == 400
    r = await swift.put(f"{swift.a}/nope/o", b"x")
    assert r.status_code == 404


async def test_ranges_and_conditions(swift: Swift) -> None:
    await swift.put(f"{swift.a}/c1")
    data = bytes(range(256)) * 4
    etag = (await swift.put(f"{swift.a}/c1/o", data)).headers["etag"]
    get = swift.http.get
    r = await get(f"{swift.a}/c1/o", headers={**swift.alice, "Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{len(data)}"
    r = await get(f"{swift.a}/c1/o", headers={**swift.alice, "Range": "bytes=-5"})
    assert r.content == data[-5:]
    r = await get(f"{swift.a}/c1/o", headers={**swift.alice, "Range": "bytes=0-1,5-6"})
    assert r.status_code == 206
    assert r.headers["content-type"].startswith("multipart/byteranges;boundary=")
    assert data[0:2] in r.content and data[5:7] in r.content
    r = await get(f"{swift.a}/c1/o", headers={**swift.alice, "Range": "bytes=5000-"})
    assert r.status_code == 416
    r = await get(f"{swift.a}/c1/o", headers={**swift.alice, "If-None-Match": etag})
    assert r.status_code == 304
    r = await get(f"{swift.a}/c1/o", headers={**swift.alice, "If-Match": "nope"})
    assert r.status_code == 412
    r = await get(f"{swift.a}/c1/o", headers={**swift.alice,
                                            "If-Modified-Since": r.headers.get(
                                                "last-modified", "Thu, 01 Jan 2099 00:00:00 GMT")})
    assert r.status_code in (200, 304)
    r = await get(f"{swift.a}/c1/o", headers={
        **swift.alice, "If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})
    assert r.status_code == 412
    r = await swift.put(f"{swift.a}/c1/o", b"again", **{"If-None-Match": "*"})
    assert r.status_code == 412


async def test_copy_and_metadata_post(swift: Swift) -> None:
    await swift.put(f"{swift.a}/c1")
    await swift.put(f"{swift.a}/c2")
    await swift.put(f"{swift.a}/c1/src", b"payload", **{"X-Object-Meta-A": "1",
                                                        "Content-Type": "text/x-a"})
    r = await swift.put(f"{swift.a}/c2/dst", b"", **{"X-Copy-From": "c1/src",
                                                     "X-Object-Meta-B": "2"})
    assert r.status_code == 201 and r.headers["x-copied-from"] == "c1/src"
    r = await swift.http.get(f"{swift.a}/c2/dst", headers=swift.alice)
    assert r.content == b"payload" and r.headers["x-object-meta-a"] == "1"
    assert r.headers["x-object-meta-b"] == "2" and r.headers["content-type"] == "text/x-a"
    r = await swift.http.request("COPY", f"{swift.a}/c1/src",
                                 headers={**swift.alice, "Destination": "c1/copy2"})
    assert r.status_code == 201
    r = await swift.http.post(f"{swift.a}/c1/src", headers={**swift.alice,
                                                            "X-Object-Meta-C": "3"})
    assert r.status_code == 202
    r = await swift.http.head(f"{swift.a}/c1/src", headers=swift.alice)
    assert r.headers["x-object-meta-c"] == "3" and "x-object-meta-a" not in r.headers
    r = await swift.put(f"{swift.a}/c1/x", b"", **{"X-Copy-From": "nocontainer"})
    assert r.status_code == 412


async def test_listings(swift: Swift) -> None:
    await swift.put(f"{swift.a}/c1")
    for name in ("a", "b/1", "b/2", "c", "d/x/y"):
        await swift.put(f"{swift.a}/c1/{name}", name.encode())
    get = swift.http.get

    async def names(query: str) -> list[str]:
        r = await get(f"{swift.a}/c1?format=json&{query}", headers=swift.alice)
        assert r.status_code == 200
        return [o.get("name", o.get("subdir")) for o in r.json()]

    assert await names("") == ["a", "b/1", "b/2", "c", "d/x/y"]
    assert await names("delimiter=/") == ["a", "b/", "c", "d/"]
    assert await names("prefix=b/") == ["b/1", "b/2"]
    assert await names("marker=b/1&end_marker=d") == ["b/2", "c"]
    assert await names("limit=2") == ["a", "b/1"]
    assert await names("reverse=true&limit=2") == ["d/x/y", "c"]
    assert await names("path=b") == ["b/1", "b/2"]
    r = await get(f"{swift.a}/c1", headers=swift.alice)
    assert r.text == "a\nb/1\nb/2\nc\nd/x/y\n"
    r = await get(f"{swift.a}/c1?format=xml&prefix=a", headers=swift.alice)
    assert r.headers["content-type"].startswith("application/xml")
    assert "<name>a</name>" in r.text and "<bytes>1</bytes>" in r.text
    r = await get(f"{swift.a}/c1?limit=100000", headers=swift.alice)
    assert r.status_code == 412
    r = await get(f"{swift.a}?format=json", headers=swift.alice)
    assert [c["name"] for c in r.json()] == ["c1"]
    assert r.headers["x-account-container-count"] == "1"
    await swift.account_settled(swift.a, swift.alice, "x-account-object-count", "5")


async def test_quotas(swift: Swift) -> None:
    await swift.put(f"{swift.a}/q", **{"X-Container-Meta-Quota-Bytes": "10",
                                       "X-Container-Meta-Quota-Count": "2"})
    assert (await swift.put(f"{swift.a}/q/a", b"12345")).status_code == 201
    r = await swift.put(f"{swift.a}/q/b", b"123456")
    assert r.status_code == 413 and b"Upload exceeds quota." in r.content
    assert (await swift.put(f"{swift.a}/q/c", b"1")).status_code == 201
    assert (await swift.put(f"{swift.a}/q/d", b"1")).status_code == 413
    r = await swift.put(f"{swift.a}/q2", **{"X-Container-Meta-Quota-Bytes": "ten"})
    assert r.status_code == 400
    # Only a reseller admin may set an account quota.
    r = await swift.http.post(swift.a, headers={**swift.alice,
                                                "X-Account-Meta-Quota-Bytes": "5"})
    assert r.status_code == 403


async def test_expiry(swift: Swift) -> None:
    await swift.put(f"{swift.a}/c1")
    r = await swift.put(f"{swift.a}/c1/o", b"x", **{"X-Delete-After": "2"})
    assert r.status_code == 201
    assert (await swift.http.get(f"{swift.a}/c1/o", headers=swift.alice)).status_code == 200
    await asyncio.sleep(3.1)
    assert (await swift.http.get(f"{swift.a}/c1/o", headers=swift.alice)).status_code == 404
    r = await swift.put(f"{swift.a}/c1/p", b"x", **{"X-Delete-At": str(int(time.time()) - 5)})
    assert r.status_code == 400 and b"X-Delete-At in past" in r.content


async def test_large_objects(swift: Swift) -> None:
    await swift.put(f"{swift.a}/seg")
    await swift.put(f"{swift.a}/c1")
    parts = [bytes([97 + i]) * 100 for i in range(3)]
    for i, p in enumerate(parts):
        await swift.put(f"{swift.a}/seg/big/{i:03d}", p)
    # DLO
    r = await swift.put(f"{swift.a}/c1/dlo", b"", **{"X-Object-Manifest": "seg/big/"})
    r = await swift.http.get(f"{swift.a}/c1/dlo", headers=swift.alice)
    assert r.content == b"".join(parts)
    assert r.headers["etag"].startswith('"')
    r = await swift.http.get(f"{swift.a}/c1/dlo", headers={**swift.alice,
                                                         "Range": "bytes=95-104"})
    assert r.status_code == 206 and r.content == b"a" * 5 + b"b" * 5
    # SLO, segments checked
    manifest = [{"path": f"/seg/big/{i:03d}", "etag": hashlib.md5(p).hexdigest(),
                 "size_bytes": 100} for i, p in enumerate(parts)]
    r = await swift.http.put(f"{swift.a}/c1/slo?multipart-manifest=put",
                             content=json.dumps(manifest), headers=swift.alice)
    assert r.status_code == 201, r.text
    r = await swift.http.get(f"{swift.a}/c1/slo", headers=swift.alice)
    assert r.content == b"".join(parts) and r.headers["x-static-large-object"] == "True"
    r = await swift.http.get(f"{swift.a}/c1/slo?multipart-manifest=get", headers=swift.alice)
    assert [s["name"] for s in r.json()] == [m["path"] for m in manifest]
    bad = [{**manifest[0], "size_bytes": 99}, {**manifest[1], "etag": "0" * 32},
           {"path": "/seg/missing"}]
    r = await swift.http.put(f"{swift.a}/c1/bad?multipart-manifest=put",
                             content=json.dumps(bad), headers=swift.alice)
    assert r.status_code == 400
    assert b"Size Mismatch" in r.content and b"Etag Mismatch" in r.content
    assert b"404 Not Found" in r.content
    r = await swift.http.delete(f"{swift.a}/c1/slo?multipart-manifest=delete",
                                headers={**swift.alice, "Accept": "application/json"})
    assert r.json()["Number Deleted"] == 4
    r = await swift.http.get(f"{swift.a}/seg?format=json", headers=swift.alice)
    assert r.json() == []


def _tempurl(key: str, method: str, path: str, expires: int, digest: str = "sha256") -> str:
    sig = hmac.new(key.encode(), f"{method}\n{expires}\n{path}".encode(), digest).hexdigest()
    return f"{path}?temp_url_sig={sig}&temp_url_expires={expires}"


async def test_temp_urls(swift: Swift) -> None:
    await swift.put(f"{swift.a}/c1")
    await swift.put(f"{swift.a}/c1/o", b"secret")
    r = await swift.http.post(swift.a, headers={**swift.alice,
                                                "X-Account-Meta-Temp-URL-Key": "k1"})
    assert r.status_code == 204
    exp = int(time.time()) + 60
    for digest in ("sha1", "sha256", "sha512"):
        r = await swift.http.get(_tempurl("k1", "GET", f"{swift.a}/c1/o", exp, digest))
        assert r.status_code == 200 and r.content == b"secret", digest
        assert r.headers["content-disposition"].startswith('attachment; filename="o"')
    assert (await swift.http.get(_tempurl("wrong", "GET", f"{swift.a}/c1/o", exp))
            ).status_code == 401
    assert (await swift.http.get(_tempurl("k1", "GET", f"{swift.a}/c1/o", int(time.time()) - 1))
            ).status_code == 401
    url = _tempurl("k1", "PUT", f"{swift.a}/c1/new", exp)
    assert (await swift.http.put(url, content=b"via temp url")).status_code == 201
    # a prefix URL opens every object under the prefix
    sig = hmac.new(b"k1", f"GET\n{exp}\nprefix:{swift.a}/c1/".encode(), "sha256").hexdigest()
    r = await swift.http.get(f"{swift.a}/c1/new?temp_url_sig={sig}&temp_url_expires={exp}"
                             f"&temp_url_prefix=")
    assert r.content == b"via temp url"


async def test_acls_and_isolation(swift: Swift) -> None:
    await swift.put(f"{swift.a}/shared")
    await swift.put(f"{swift.a}/shared/o", b"data")
    # Another project's member and anonymous users are refused.
    assert (await swift.http.get(f"{swift.a}/shared/o", headers=swift.bob)).status_code == 403
    assert (await swift.http.get(f"{swift.a}/shared/o")).status_code == 401
    assert (await swift.http.get(swift.a, headers=swift.bob)).status_code == 403
    assert (await swift.http.get(f"{swift.a}/shared", headers=swift.bob)).status_code == 403
    assert (await swift.put(f"{swift.a}/shared/x", b"x", swift.bob)).status_code == 403
    # project:user read
    await swift.http.post(f"{swift.a}/shared", headers={
        **swift.alice, "X-Container-Read": f"{swift.beta}:{swift.bob_id}"})
    assert (await swift.http.get(f"{swift.a}/shared/o", headers=swift.bob)).status_code == 200
    assert (await swift.put(f"{swift.a}/shared/x", b"x", swift.bob)).status_code == 403
    # *:user write
    await swift.http.post(f"{swift.a}/shared", headers={
        **swift.alice, "X-Container-Write": f"*:{swift.bob_id}"})
    assert (await swift.put(f"{swift.a}/shared/x", b"x", swift.bob)).status_code == 201
    # .r:* opens objects to anyone; .rlistings the listing too
    await swift.http.post(f"{swift.a}/shared", headers={**swift.alice,
                                                        "X-Container-Read": ".r:*"})
    assert (await swift.http.get(f"{swift.a}/shared/o")).content == b"data"
    assert (await swift.http.get(f"{swift.a}/shared")).status_code == 401
    await swift.http.post(f"{swift.a}/shared", headers={
        **swift.alice, "X-Container-Read": ".r:*,.rlistings"})
    assert (await swift.http.get(f"{swift.a}/shared")).text == "o\nx\n"
    # bob cannot change alice's ACLs
    r = await swift.http.post(f"{swift.a}/shared", headers={**swift.bob,
                                                            "X-Container-Read": ".r:*"})
    assert r.status_code == 403


async def test_versioning(swift: Swift) -> None:
    await swift.put(f"{swift.a}/versions")
    await swift.put(f"{swift.a}/c1", **{"X-Versions-Location": "versions"})
    for v in (b"v1", b"v2", b"v3"):
        await swift.put(f"{swift.a}/c1/o", v)
    r = await swift.http.get(f"{swift.a}/versions?format=json", headers=swift.alice)
    assert len(r.json()) == 2
    await swift.http.delete(f"{swift.a}/c1/o", headers=swift.alice)
    assert (await swift.http.get(f"{swift.a}/c1/o", headers=swift.alice)).content == b"v2"
    # history mode: a delete keeps the last version
    await swift.put(f"{swift.a}/hist")
    await swift.put(f"{swift.a}/c2", **{"X-History-Location": "hist"})
    await swift.put(f"{swift.a}/c2/o", b"h1")
    await swift.http.delete(f"{swift.a}/c2/o", headers=swift.alice)
    assert (await swift.http.get(f"{swift.a}/c2/o", headers=swift.alice)).status_code == 404
    r = await swift.http.get(f"{swift.a}/hist?format=json", headers=swift.alice)
    assert len(r.json()) == 1


async def test_bulk_delete_and_extract(swift: Swift) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("t1/a", b"1"), ("t1/b", b"22"), ("t2/c", b"333")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    r = await swift.http.put(f"{swift.a}?extract-archive=tar.gz", content=buf.getvalue(),
                             headers={**swift.alice, "Accept": "application/json"})
    assert r.status_code == 200 and r.json()["Number Files Created"] == 3
    assert (await swift.http.get(f"{swift.a}/t2/c", headers=swift.alice)).content == b"333"
    r = await swift.http.post(f"{swift.a}?bulk-delete", content=b"/t1/a\n/t1/b\n/t1/zz\n/t1\n",
                              headers={**swift.alice, "Accept": "application/json",
                                       "Content-Type": "text/plain"})
    assert r.json()["Number Deleted"] == 3 and r.json()["Number Not Found"] == 1
    assert (await swift.http.head(f"{swift.a}/t1", headers=swift.alice)).status_code == 404
    r = await swift.http.request("DELETE", f"{swift.a}?bulk-delete", content=b"/t2/c\n/t2\n",
                                 headers={**swift.alice, "Accept": "application/json"})
    assert r.json()["Number Deleted"] == 2
    # Without ?bulk-delete an account cannot be deleted through the API (Swift's 405).
    assert (await swift.http.delete(swift.a, headers=swift.alice)).status_code == 405
    # Another project's member bulk-deletes nothing here.
    r = await swift.http.post(f"{swift.a}?bulk-delete", content=b"/x/y\n",
                              headers={**swift.bob, "Content-Type": "text/plain"})
    assert r.status_code == 403


async def test_form_post(swift: Swift) -> None:
    await swift.put(f"{swift.a}/up", **{"X-Container-Meta-Temp-URL-Key": "fk"})
    path = f"{swift.a}/up/pre/"
    exp = int(time.time()) + 60
    sig = hmac.new(b"fk", f"{path}\n\n1024\n2\n{exp}".encode(), "sha256").hexdigest()
    boundary = "BOUNDARY"
    fields = {"redirect": "", "max_file_size": "1024", "max_file_count": "2",
              "expires": str(exp), "signature": sig}
    body = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n"
                   f"{v}\r\n" for k, v in fields.items()).encode()
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file1\"; "
             f"filename=\"f.txt\"\r\nContent-Type: text/plain\r\n\r\nform data\r\n"
             f"--{boundary}--\r\n").encode()
    r = await swift.http.post(path, content=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 201, r.text
    assert (await swift.http.get(f"{swift.a}/up/pre/f.txt", headers=swift.alice)
            ).content == b"form data"


async def test_cors_and_info(swift: Swift) -> None:
    await swift.put(f"{swift.a}/web", **{
        "X-Container-Meta-Access-Control-Allow-Origin": "http://example.com"})
    r = await swift.http.options(f"{swift.a}/web/o", headers={
        "Origin": "http://example.com", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "http://example.com"
    r = await swift.http.options(f"{swift.a}/web/o", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 401
    await swift.put(f"{swift.a}/web/o", b"page", **{"X-Object-Meta-Color": "red"})
    r = await swift.http.get(f"{swift.a}/web/o", headers={**swift.alice,
                                                        "Origin": "http://example.com"})
    assert r.headers["access-control-allow-origin"] == "http://example.com"
    assert "x-object-meta-color" in r.headers["access-control-expose-headers"]
    info = (await swift.http.get("/info")).json()
    assert info["swift"]["max_file_size"] == 5368709122
    assert {"slo", "dlo", "tempurl", "formpost", "bulk_delete", "account_quotas"} <= set(info)


async def test_delete_container_not_empty(swift: Swift) -> None:
    await swift.put(f"{swift.a}/c1")
    await swift.put(f"{swift.a}/c1/o", b"1")
    assert (await swift.http.delete(f"{swift.a}/c1", headers=swift.alice)).status_code == 409
    await swift.http.delete(f"{swift.a}/c1/o", headers=swift.alice)
    assert (await swift.http.delete(f"{swift.a}/c1", headers=swift.alice)).status_code == 204
    assert (await swift.http.head(f"{swift.a}/c1", headers=swift.alice)).status_code == 404
