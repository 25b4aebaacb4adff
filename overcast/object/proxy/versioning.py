"""Object versioning with version ids: `X-Versions-Enabled` (Swift's object_versioning, the
mode that replaced X-Versions-Location and X-History-Location).

A container turns it on with PUT or POST `X-Versions-Enabled: true` (off again with `false`;
the versions stay). The versions of its objects live in a hidden container of the same
account, named `\\0versions\\0<container>` (Swift's reserved namespace: no client can name
it, since a path with a NUL is refused), each under `\\0<object>\\0<inverted timestamp>` so a
listing gives every name's versions newest first. The version id is that timestamp.

    PUT o       (enabled)  the data lands as a new version; the object in the container
                           becomes a link to it (zero bytes, sysmeta naming the version,
                           its etag and size); a current object without a version id
                           ("null": written before versioning, or while it was off) is
                           first copied in as a version of its own
    DELETE o    (enabled)  a delete marker (zero bytes, DELETE_MARKER content type) is
                           written as a new version, then the object (or link) is removed
    GET/HEAD o             a link is followed; X-Object-Version-Id tells which version
    POST o                 the metadata goes to the version the link names (no new version)
    ?version-id=ID         GET, HEAD, DELETE one version (owner only); PUT with an empty
                           body makes that version the latest again; POST: 400
    GET c?versions         every version of every object (JSON only), with version_id and
                           is_latest, `version_marker` paging after `marker`

Swift builds the link on its symlink middleware; Overcast has no client-visible symlinks, so
the link is internal: the proxy follows it on reads, and the container row of a link keeps
the version's etag and, in its content type's parameters, the version id and size (shown as
`bytes`); the row's own size is 0, so the container's bytes count each version once.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response

from overcast.common import faults
from overcast.object.constraints import LIMITS
from overcast.object.errors import LengthRequired
from overcast.object.proxy.cluster import Info, quorum
from overcast.object.proxy.common import Proxy, empty, fault_for, query_of

if TYPE_CHECKING:
    from overcast.object.proxy.objects import Objects

__all__ = ["DELETE_MARKER", "FLAG", "LINK_ID", "SYS_CONTAINER", "SYS_ENABLED", "Versioning",
           "has_reserved", "present_rows", "versions_container"]

RESERVED = "\x00"
#: The client's header on containers (requests and answers).
FLAG = "x-versions-enabled"
SYS_ENABLED = "x-container-sysmeta-versions-enabled"
SYS_CONTAINER = "x-container-sysmeta-versions-container"
#: A link's system metadata: the version it stands for, that version's etag and size.
LINK_ID = "x-object-sysmeta-versions-id"
LINK_ETAG = "x-object-sysmeta-versions-etag"
LINK_BYTES = "x-object-sysmeta-versions-bytes"
DELETE_MARKER = "application/x-deleted;swift_versions_deleted=1"
EMPTY_ETAG = "d41d8cd98f00b204e9800998ecf8427e"
VERSION_ID = "version-id"
#: Past every hidden (NUL-prefixed) name and before every name a client can make.
AFTER_RESERVED = "\x00\U0010ffff"
_MAX_TS = 10**15 - 1  # 9999999999.99999 in units of 1e-5 s
_TRUE = ("true", "1", "yes", "on", "t", "y")


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def has_reserved(*names: str) -> bool:
    return any(RESERVED in n for n in names)


def versions_container(container: str) -> str:
    return f"{RESERVED}versions{RESERVED}{container}"


def _units(ts: str) -> int:
    whole, _, frac = ts.partition(".")
    return int(whole) * 100000 + int((frac + "00000")[:5])


def _ts_of(units: int) -> str:
    return f"{units // 100000:010d}.{units % 100000:05d}"


def valid_version(vid: str) -> bool:
    """A version id is a timestamp: seconds with up to five decimals."""
    return bool(re.fullmatch(r"\d{1,10}(\.\d{1,5})?", vid))


def normal_version(vid: str) -> str:
    return _ts_of(_units(vid))


def version_name(obj: str, vid: str) -> str:
    """The hidden name of one version: newest first in a listing of the object's versions."""
    return f"{RESERVED}{obj}{RESERVED}{_ts_of(_MAX_TS - _units(vid))}"


def parse_version_name(name: str) -> tuple[str, str | None]:
    if not name.startswith(RESERVED) or name.count(RESERVED) != 2:
        return name, None
    _, obj, inverted = name.split(RESERVED)
    if not valid_version(inverted):
        return name, None
    return obj, _ts_of(_MAX_TS - _units(inverted))


def link_fields(row: Mapping[str, Any]) -> tuple[str, int, str] | None:
    """(version id, size, content type) of a link's container row; None for another row."""
    ctype = str(row.get("content_type", ""))
    if "swift_versions_id=" not in ctype:
        return None
    vid, size, keep = "", "0", []
    for part in ctype.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == "swift_versions_id":
            vid = value
        elif sep and key == "swift_versions_bytes":
            size = value
        else:
            keep.append(part)
    return vid, int(size or 0), ";".join(keep)


def present_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A container listing as the client sees it: a link shows its version's size."""
    for row in rows:
        fields = link_fields(row)
        if fields is not None:
            _vid, size, ctype = fields
            row["bytes"] = size
            row["content_type"] = ctype
    return rows


def is_versioned(cinfo: Info) -> bool:
    return bool(cinfo.meta(SYS_CONTAINER))


def is_enabled(cinfo: Info) -> bool:
    return is_versioned(cinfo) and truthy(cinfo.meta(SYS_ENABLED))


class Versioning:
    """The container and object operations of object versioning, on top of `Objects`."""

    def __init__(self, proxy: Proxy, objects: Objects | None = None):
        self.p = proxy
        self._objects = objects

    @property
    def o(self) -> Objects:
        """The object controller (the container operations do without it)."""
        assert self._objects is not None
        return self._objects

    # ------------------------------------------------------------ containers
    async def configure(self, account: str, container: str, headers: Mapping[str, str],
                        creating: bool) -> dict[str, str]:
        """The system metadata a container PUT (`creating`) or POST sets for
        X-Versions-Enabled; 400 when that would mix with the legacy modes (either way round:
        one mode a container), 404 for a POST to no container (no versions container made)."""
        flag = headers.get(FLAG)
        legacy_asked = bool(headers.get("x-versions-location") or
                            headers.get("x-history-location"))
        if flag is None and not legacy_asked:
            return {}
        info = await self.p.cluster.info(account, container, fresh=True)
        if not creating and info.status == 404:
            raise faults.NotFound()
        if flag is None:
            if is_versioned(info):
                raise faults.BadRequest("Cannot set X-Versions-Location or X-History-Location "
                                        "on a container that uses object versioning "
                                        "(X-Versions-Enabled).")
            return {}
        if legacy_asked or info.meta("x-versions-location") or info.meta("x-history-location"):
            raise faults.BadRequest("Cannot enable object versioning on a container that is "
                                    "already using the legacy versioned writes feature.")
        enabled = truthy(flag)
        out = {SYS_ENABLED: str(enabled)}
        if enabled:
            vc = versions_container(container)
            hidden = await self.p.cluster.info(account, vc, fresh=True)
            if not hidden.exists:
                statuses = await self.p.cluster.write_all(
                    "container", (account, vc), "PUT", {"x-timestamp": self.p.cluster.timestamp()})
                self.p.cluster.forget(account, vc)
                if sum(1 for s in statuses if 200 <= s < 300) < quorum(len(statuses)):
                    raise faults.ServiceUnavailable("Error enabling object versioning")
            out[SYS_CONTAINER] = vc
        return out

    async def shown_headers(self, account: str, info: Info, out: dict[str, str]) -> None:
        """X-Versions-Enabled, and the bytes of the versions counted in the container's."""
        if info.meta(SYS_ENABLED) is not None:
            out[FLAG] = "True" if truthy(info.meta(SYS_ENABLED)) else "False"
        vc = info.meta(SYS_CONTAINER)
        if vc and "x-container-bytes-used" in out:
            hidden = await self.p.cluster.info(account, vc, fresh=True)
            if hidden.exists:
                out["x-container-bytes-used"] = str(
                    int(out["x-container-bytes-used"]) + hidden.int("x-container-bytes-used"))

    async def bytes_used(self, account: str, cinfo: Info) -> int:
        """The versions' bytes, which a container quota counts too."""
        vc = cinfo.meta(SYS_CONTAINER)
        if not vc:
            return 0
        hidden = await self.p.cluster.info(account, vc, fresh=True)
        return hidden.int("x-container-bytes-used") if hidden.exists else 0

    async def check_delete(self, account: str, info: Info) -> None:
        vc = info.meta(SYS_CONTAINER)
        if not vc:
            return
        hidden = await self.p.cluster.info(account, vc, fresh=True)
        if hidden.exists and hidden.int("x-container-object-count") > 0:
            raise faults.Conflict("Delete all versions before deleting container.")

    async def after_delete(self, account: str, info: Info) -> None:
        vc = info.meta(SYS_CONTAINER)
        if vc:
            await self.p.cluster.write_all("container", (account, vc), "DELETE",
                                           {"x-timestamp": self.p.cluster.timestamp()})
            self.p.cluster.forget(account, vc)

    async def account_bytes(self, account: str, rows: list[dict[str, Any]]) -> None:
        """An account listing counts each container's versions in its bytes."""
        if not any("name" in r for r in rows):
            return
        prefix = f"{RESERVED}versions{RESERVED}"
        resp = await self.p.cluster.read("account", (account,), "GET", query=urlencode(
            {"prefix": prefix, "limit": str(LIMITS["account_listing_limit"])}))
        if resp is None or not resp.ok:
            if resp is not None:
                await resp.aclose()
            return
        hidden = {r["name"][len(prefix):]: int(r.get("bytes", 0))
                  for r in json.loads(await resp.read()) if "name" in r}
        for row in rows:
            if row.get("name") in hidden:
                row["bytes"] = int(row.get("bytes", 0)) + hidden[row["name"]]

    async def listing(self, request: Request, account: str, container: str, info: Info,
                      headers: dict[str, str]) -> Response:
        """GET c?versions: the container's current objects ("null" versions and links)
        merged with the hidden container's versions, by name then newest first; `headers`:
        the container's, as a listing shows them."""
        q = query_of(request)
        fmt = (q.get("format") or "").lower()
        accept = (request.headers.get("accept") or "").lower()
        if fmt and fmt not in ("json", "application/json"):
            raise faults.NotAcceptable()
        if not fmt and accept and not any(
                m.split(";")[0].strip() in ("application/json", "application/*", "*/*")
                for m in accept.split(",")):
            raise faults.NotAcceptable()
        limit = LIMITS["container_listing_limit"]
        if q.get("limit"):
            try:
                limit = int(q["limit"])
            except ValueError:
                raise faults.BadRequest("Value of limit must be a positive integer") from None
            if limit < 0:
                raise faults.BadRequest("Value of limit must be a positive integer")
            if limit > LIMITS["container_listing_limit"]:
                from overcast.object.errors import PreconditionFailed

                raise PreconditionFailed(f"Maximum limit is {LIMITS['container_listing_limit']}")
        delimiter = q.get("delimiter", "")
        if set(delimiter) & set("0123456789." + RESERVED):
            raise faults.BadRequest("invalid delimiter param")
        reverse = truthy(q.get("reverse"))
        marker = q.get("marker", "")
        vmarker = q.get("version_marker")
        if vmarker is not None and not marker:
            raise faults.BadRequest("version_marker param requires marker")
        if vmarker is not None and vmarker != "null" and not valid_version(vmarker):
            raise faults.BadRequest("invalid version_marker param")

        primary = {k: q[k] for k in ("prefix", "marker", "end_marker", "delimiter")
                   if q.get(k)}
        primary["limit"] = str(limit)
        if reverse:
            primary["reverse"] = "1"
        current = await self._rows(account, container, primary)
        if current is None:
            raise faults.NotFound()

        subdirs: set[str] = set()
        nulls: list[dict[str, Any]] = []
        links: dict[tuple[str, str], dict[str, Any]] = {}
        latest: set[str] = set()
        for row in current:
            if "name" not in row:
                subdirs.add(row["subdir"])
                continue
            fields = link_fields(row)
            if fields is None:
                nulls.append({**row, "version_id": "null", "is_latest": True})
                latest.add(row["name"])
            else:
                vid, size, ctype = fields
                links[(row["name"], vid)] = {**row, "bytes": size, "content_type": ctype}

        versions: list[dict[str, Any]] = []
        vc = info.meta(SYS_CONTAINER) or versions_container(container)
        hidden_q: dict[str, str] = {"limit": str(limit)}
        if q.get("prefix"):
            hidden_q["prefix"] = RESERVED + q["prefix"]
        else:
            hidden_q["prefix"] = RESERVED
        if marker:
            if vmarker is None:
                hidden_q["marker"] = f"{RESERVED}{marker}{RESERVED}:"  # past all its versions
            elif vmarker == "null":
                hidden_q["marker"] = f"{RESERVED}{marker}{RESERVED}"
            else:
                hidden_q["marker"] = version_name(marker, vmarker)
        if q.get("end_marker"):
            hidden_q["end_marker"] = RESERVED + q["end_marker"]
        if delimiter:
            hidden_q["delimiter"] = delimiter
        if reverse:
            hidden_q["reverse"] = "1"
        hidden_rows = await self._rows(account, vc, hidden_q) or []
        linked = {name for name, _vid in links}  # their delete markers are not the latest
        for row in hidden_rows:
            if "name" not in row:
                subdirs.add(row["subdir"].lstrip(RESERVED))
                continue
            name, version = parse_version_name(row["name"])
            if version is None:
                continue
            item = {**row, "name": name, "version_id": version}
            if links.pop((name, version), None) is not None:
                item["is_latest"] = True
                latest.add(name)
            elif row.get("content_type") == DELETE_MARKER and name not in latest | linked:
                item["is_latest"] = True
                latest.add(name)
            else:
                item["is_latest"] = False
            versions.append(item)
        # a link whose version this page did not reach is still the latest version
        orphans = [{"name": name, "hash": row["hash"], "bytes": row["bytes"],
                    "content_type": row["content_type"], "last_modified": row["last_modified"],
                    "version_id": vid, "is_latest": True}
                   for (name, vid), row in links.items()]
        merged = sorted([*nulls, *versions, *({"subdir": s} for s in subdirs), *orphans],
                        key=lambda r: r.get("name", r.get("subdir", "")), reverse=reverse)
        return Response(json.dumps(merged[:limit]), status_code=200, headers=headers,
                        media_type="application/json; charset=utf-8")

    async def _rows(self, account: str, container: str, params: dict[str, str]
                    ) -> list[dict[str, Any]] | None:
        resp = await self.p.cluster.read("container", (account, container), "GET",
                                         query=urlencode(params))
        if resp is None:
            raise faults.ServiceUnavailable()
        if resp.status == 404:
            await resp.aclose()
            return None
        if not resp.ok:
            await resp.aclose()
            raise fault_for(resp.status)
        rows: list[dict[str, Any]] = json.loads(await resp.read())
        return rows

    # ------------------------------------------------------------ objects
    async def _copy_current(self, account: str, container: str, obj: str) -> None:
        """The current object, if it has no version id yet ("null"), becomes a version."""
        resp = await self.o._fetch(account, container, obj, "GET", {
            "x-backend-ignore-range-if-metadata-present":
                "X-Static-Large-Object,X-Object-Manifest"}, follow=False)
        if resp.status == 404 or LINK_ID in resp.headers:
            await resp.aclose()
            return
        if not resp.ok:
            await resp.aclose()
            raise fault_for(resp.status)
        vid = resp.headers.get("x-timestamp") or self.p.cluster.timestamp()
        meta, extra = self.o.version_meta(resp.headers)
        length = int(resp.headers.get("content-length", "0"))
        await self.o._store(account, versions_container(container), version_name(obj, vid),
                            meta, _closing(resp), length, extra, ts=vid)

    async def _link(self, account: str, container: str, obj: str, vid: str, etag: str,
                    size: int, ctype: str, delete_at: str | None = None) -> None:
        meta = {"content-type": ctype, LINK_ID: vid, LINK_ETAG: etag, LINK_BYTES: str(size)}
        if delete_at:
            meta["x-delete-at"] = delete_at
        await self.o._store(account, container, obj, meta, _once(b""), 0,
                            self.link_row(vid, etag, size, ctype))

    @staticmethod
    def link_row(vid: str, etag: str, size: int, ctype: str) -> dict[str, str]:
        """What a link's container row holds (its own size stays 0)."""
        return {"x-backend-container-update-override-etag": etag,
                "x-backend-container-update-override-content-type":
                    f"{ctype};swift_versions_id={vid};swift_versions_bytes={size}"}

    async def put(self, account: str, container: str, obj: str, meta: dict[str, str],
                  body: AsyncIterator[bytes], length: int | None,
                  extra: Mapping[str, str] | None = None) -> Response:
        """A write to a container with versioning on: a new version, and the link to it."""
        await self._copy_current(account, container, obj)
        vid = self.p.cluster.timestamp()
        counted = _Counter(body)
        version_meta = {k: v for k, v in meta.items() if k != "x-delete-at"}
        stored = await self.o._store(account, versions_container(container),
                                     version_name(obj, vid), version_meta, counted.iter(),
                                     length, extra, ts=vid)
        etag = stored.headers.get("etag", "")
        listed_etag = (extra or {}).get("x-backend-container-update-override-etag") or etag
        size = int((extra or {}).get("x-backend-container-update-override-size")
                   or counted.n)
        await self._link(account, container, obj, vid, listed_etag, size,
                         meta.get("content-type", "application/octet-stream"),
                         meta.get("x-delete-at"))
        stored.headers["x-object-version-id"] = vid
        return stored

    async def delete(self, account: str, container: str, obj: str) -> Response:
        """DELETE with versioning on: a delete marker, then the object goes."""
        await self._copy_current(account, container, obj)
        vid = self.p.cluster.timestamp()
        await self.o._store(account, versions_container(container), version_name(obj, vid),
                            {"content-type": DELETE_MARKER}, _once(b""), 0, ts=vid)
        headers = {"x-object-version-id": vid}
        try:
            await self.o.delete_one(account, container, obj)
        except faults.NotFound:
            raise faults.NotFound(headers=headers) from None
        return empty(204, headers)

    @staticmethod
    def check_version_id(method: str, cinfo: Info, vid: str) -> None:
        if method == "POST":
            raise faults.BadRequest("POST to a specific version is not allowed")
        if vid != "null" and not is_versioned(cinfo):
            raise faults.BadRequest("version-aware operations require that the container is "
                                    "versioned")
        if vid != "null" and not valid_version(vid):
            raise faults.BadRequest("Invalid version parameter")

    async def delete_version(self, account: str, container: str, obj: str, vid: str
                             ) -> Response:
        """DELETE ?version-id=ID: that version only, no marker; the link too if it is the
        current one."""
        vid = normal_version(vid)
        raw = await self.o._fetch(account, container, obj, "HEAD", {}, follow=False)
        await raw.aclose()
        current = raw.headers.get(LINK_ID) if raw.ok else None
        if current == vid:
            try:
                await self.o.delete_one(account, container, obj)
            except faults.NotFound:
                pass
            current = None
        headers = {"x-object-version-id": vid, "x-object-current-version-id": current or "null"}
        try:
            await self.o.delete_one(account, versions_container(container),
                                    version_name(obj, vid))
        except faults.NotFound:
            raise faults.NotFound(headers=headers) from None
        return empty(204, headers)

    async def put_version(self, request: Request, account: str, container: str, obj: str,
                          vid: str) -> Response:
        """PUT ?version-id=ID with no body: that version becomes the latest (a new link)."""
        if vid == "null" or not valid_version(vid):
            raise faults.BadRequest("Invalid version parameter")
        vid = normal_version(vid)
        chunked = "chunked" in (request.headers.get("transfer-encoding") or "").lower()
        if chunked:
            has_body = any([c async for c in request.stream()])
        elif request.headers.get("content-length") is None:
            raise LengthRequired("<html><h1>Length Required</h1><p>Length Required</p></html>")
        else:
            has_body = request.headers["content-length"] not in ("0", "")
        if has_body:
            raise faults.BadRequest("PUT version-id requests require a zero byte body")
        resp = await self.o._fetch(account, versions_container(container),
                                   version_name(obj, vid), "HEAD", {}, follow=False)
        await resp.aclose()
        if resp.status == 404:
            raise faults.NotFound("The specified version does not exist")
        if not resp.ok:
            raise fault_for(resp.status)
        ctype = resp.headers.get("content-type", "application/octet-stream")
        if ctype == DELETE_MARKER:
            raise faults.BadRequest("A delete marker cannot be made the latest version")
        etag = resp.headers.get("x-object-sysmeta-slo-etag") or resp.headers.get("etag", "")
        size = int(resp.headers.get("x-object-sysmeta-slo-size")
                   or resp.headers.get("content-length", "0"))
        await self._link(account, container, obj, vid, etag, size, ctype)
        return empty(201, {"etag": etag, "x-object-version-id": vid})

    async def post(self, account: str, container: str, obj: str,
                   meta: dict[str, str]) -> Response | None:
        """POST to a link: the metadata to its version (no expiry: versions never expire),
        the expiry and content type to the link. None when the object is no link."""
        raw = await self.o._fetch(account, container, obj, "HEAD", {}, follow=False)
        await raw.aclose()
        vid = raw.headers.get(LINK_ID) if raw.ok else None
        if vid is None:
            return None
        vc, vname = versions_container(container), version_name(obj, vid)
        version_meta = {k: v for k, v in meta.items() if k != "x-delete-at"}
        statuses = await self.p.cluster.write_all(
            "object", (account, vc, vname), "POST",
            {**version_meta, "x-timestamp": self.p.cluster.timestamp()},
            per_node=_targets(self.p.cluster.container_targets(account, vc)))
        if sum(1 for s in statuses if 200 <= s < 300) < quorum(len(statuses)):
            raise faults.NotFound() if 404 in statuses else faults.ServiceUnavailable()
        ctype = meta.get("content-type") or raw.headers.get("content-type",
                                                            "application/octet-stream")
        etag = raw.headers.get(LINK_ETAG, "")
        size = int(raw.headers.get(LINK_BYTES, "0"))
        link_meta = {"content-type": ctype}
        if "x-delete-at" in meta:
            link_meta["x-delete-at"] = meta["x-delete-at"]
        await self.p.cluster.write_all(
            "object", (account, container, obj), "POST",
            {**link_meta, **self.link_row(vid, etag, size, ctype),
             "x-timestamp": self.p.cluster.timestamp()},
            per_node=_targets(self.p.cluster.container_targets(account, container)))
        self.p.cluster.forget(account, container)
        return empty(202, {"content-type": "text/html; charset=UTF-8"})

    @staticmethod
    def location(account: str, container: str, obj: str, vid: str) -> str:
        return quote(f"/v1/{account}/{container}/{obj}") + f"?version-id={vid}"


def _targets(targets: list[dict[str, str]]) -> Any:
    return lambda i, _d: targets[i] if i < len(targets) else {}


class _Counter:
    """Counts the bytes of a body as it streams (a chunked upload's size)."""

    def __init__(self, body: AsyncIterator[bytes]):
        self.body = body
        self.n = 0

    async def iter(self) -> AsyncIterator[bytes]:
        async for chunk in self.body:
            self.n += len(chunk)
            yield chunk


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _closing(resp: Any) -> AsyncIterator[bytes]:
    try:
        async for chunk in resp.iter_bytes():
            yield chunk
    finally:
        await resp.aclose()
