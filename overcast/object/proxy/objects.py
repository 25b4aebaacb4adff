"""Objects: PUT (streamed to three replicas, 201 at quorum), GET/HEAD (first good replica,
ranges, conditions, large objects), POST (metadata), DELETE, COPY and X-Copy-From,
expiry, quotas, versioning, temporary URLs."""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.object import constraints
from overcast.object import httpsemantics as hs
from overcast.object.errors import LengthRequired, PreconditionFailed, Unprocessable
from overcast.object.nodes import NodeResponse
from overcast.object.proxy import cors, large, tempurl, versioning
from overcast.object.proxy.cluster import Info, quorum
from overcast.object.proxy.common import Proxy, empty, fault_for, query_of
from overcast.object.proxy.containers import Containers
from overcast.object.proxy.versioning import LINK_ID, VERSION_ID, Versioning
from overcast.object.timestamp import http_date

__all__ = ["Objects"]

#: Headers of an object a client sees.
SHOWN = ("x-object-meta-", "content-type", "content-length", "etag", "last-modified",
         "x-timestamp", "accept-ranges", "content-disposition", "content-encoding",
         "x-delete-at", "x-object-manifest", "x-static-large-object", "content-range",
         "content-language", "cache-control", "expires")
#: Metadata a PUT (or a copy) carries to the object servers.
CARRIED = ("x-object-meta-", "content-disposition", "content-encoding", "x-delete-at",
           "x-object-manifest", "content-language", "cache-control", "expires")
CONDITIONS = ("range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
SLO_ETAG = "x-object-sysmeta-slo-etag"
SLO_SIZE = "x-object-sysmeta-slo-size"
DELETED_MARKER = "application/x-deleted;swift_versions_deleted=1"
#: Checks that the caller may read a segment container (and list it: the flag).
Guard = Callable[[str, bool], Awaitable[None]] | None


def _shown(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.startswith(SHOWN)}


def _version_prefix(obj: str) -> str:
    return f"{len(obj.encode('utf-8')):03x}{obj}/"


class Objects:
    def __init__(self, proxy: Proxy):
        self.p = proxy
        self.containers = Containers(proxy)
        self.versioning = Versioning(proxy, self)

    # ------------------------------------------------------------ access
    async def _container(self, account: str, container: str, obj: str = "",
                         fresh: bool = False) -> Info:
        Containers.check_name(container)
        if versioning.has_reserved(obj):
            raise PreconditionFailed("Invalid UTF8 or contains NULL")
        return await self.p.cluster.info(account, container, fresh=fresh)

    async def _keys(self, account: str, cinfo: Info) -> list[str]:
        keys = [v for k, v in cinfo.headers.items()
                if k in ("x-container-meta-temp-url-key", "x-container-meta-temp-url-key-2")]
        ainfo = await self.p.cluster.info(account)
        keys += [v for k, v in ainfo.headers.items()
                 if k in ("x-account-meta-temp-url-key", "x-account-meta-temp-url-key-2")]
        return [k for k in keys if k]

    async def authorize(self, ctx: RequestContext, request: Request, rule: str, account: str,
                        container: str, cinfo: Info, *, write: bool) -> bool:
        """Whether the caller owns the account; else that an ACL or a temp URL lets it in.
        A temp URL decides alone, token or not (Swift's tempurl runs before auth)."""
        owner = self.p.access.is_owner(ctx, rule, account)
        temp = tempurl.parse(query_of(request))
        if temp is not None and request.method in tempurl.METHODS:
            if temp.valid(request.method, request.url.path, await self._keys(account, cinfo)):
                return False
            raise faults.Unauthorized("<html><h1>Unauthorized</h1><p>This server could not "
                                      "verify that you are authorized to access the document "
                                      "you requested.</p></html>")
        if owner:
            return True
        if write:
            ok = self.p.access.may_write(ctx, cinfo.meta("x-container-write"))
        else:
            ok = self.p.access.may_read(ctx, cinfo.meta("x-container-read"),
                                        request.headers.get("referer"), listing=False)
        if not ok:
            raise self.p.access.deny(ctx)
        return False

    # ------------------------------------------------------------ reads
    async def _fetch(self, account: str, container: str, obj: str, method: str,
                     headers: Mapping[str, str], follow: bool = True) -> NodeResponse:
        """An object from its first good replica; a versioning link is followed to the
        version it names (`follow`), which then carries `x-object-version-id`."""
        hdrs = dict(headers)
        if follow:
            # a link has no bytes of its own: its version's etag and range decide
            ignore = hdrs.get("x-backend-ignore-range-if-metadata-present")
            hdrs["x-backend-ignore-range-if-metadata-present"] = (
                f"{ignore},{LINK_ID}" if ignore else LINK_ID)
            at = hdrs.get("x-backend-etag-is-at")
            hdrs["x-backend-etag-is-at"] = (f"{versioning.LINK_ETAG},{at}" if at
                                            else versioning.LINK_ETAG)
        resp = await self.p.cluster.read(
            "object", (account, container, obj), method, hdrs,
            accept=lambda r: r.status < 500 and r.status not in (404, 507))
        if resp is None:
            raise faults.ServiceUnavailable()
        vid = resp.headers.get(LINK_ID) if resp.ok else None
        if not follow or vid is None:
            return resp
        await resp.aclose()
        target = await self._fetch(account, versioning.versions_container(container),
                                   versioning.version_name(obj, vid), method, headers,
                                   follow=False)
        target.headers["x-object-version-id"] = vid
        target.headers["content-location"] = versioning.Versioning.location(
            account, container, obj, vid)
        return target

    async def get(self, ctx: RequestContext, request: Request, account: str, container: str,
                  obj: str) -> Response:
        head = request.method == "HEAD"
        rule = "swift:head_object" if head else "swift:get_object"
        cinfo = await self._container(account, container, obj)
        q = query_of(request)
        temp = tempurl.parse(q) is not None
        vid = None if temp else q.get(VERSION_ID)
        if vid is not None and vid != "null" and versioning.is_versioned(cinfo):
            # a given version: the owner's (Swift keeps versions in a container no ACL opens)
            cinfo = Info(cinfo.status, {k: v for k, v in cinfo.headers.items()
                                        if k not in ("x-container-read", "x-container-write")})
        owner = await self.authorize(ctx, request, rule, account, container, cinfo,
                                     write=False)
        temp_used = not owner and temp
        if cinfo.status == 404:
            raise faults.NotFound()
        if vid is not None:
            Versioning.check_version_id(request.method, cinfo, vid)
        added: dict[str, str] = {}
        answer = await self._serve(request, account, container, obj, cinfo, q, head,
                                   temp_used, vid, added,
                                   None if owner or temp_used else self._guard(ctx, request,
                                                                               account))
        for key, value in added.items():
            answer.headers[key] = value
        return answer

    def _guard(self, ctx: RequestContext, request: Request, account: str) -> Guard:
        """For a caller an ACL lets in: a large object's segments are read only from
        containers the caller may read too (listed, for a DLO), as Swift's subrequests are."""

        async def check(container: str, listing: bool) -> None:
            info = await self.p.cluster.info(account, container)
            if not self.p.access.may_read(ctx, info.meta("x-container-read"),
                                          request.headers.get("referer"), listing=listing):
                raise self.p.access.deny(ctx)

        return check

    async def _serve(self, request: Request, account: str, container: str, obj: str,
                     cinfo: Info, q: Mapping[str, str], head: bool, temp_used: bool,
                     vid: str | None, added: dict[str, str], guard: Guard = None) -> Response:
        """GET/HEAD of the object, or of one version of it (`vid`); `added`: the version
        headers the answer gets."""
        read_container, read_obj = container, obj
        if vid not in (None, "null"):
            assert vid is not None
            vid = versioning.normal_version(vid)
            read_container = versioning.versions_container(container)
            read_obj = versioning.version_name(obj, vid)
        manifest_get = q.get("multipart-manifest") == "get"
        headers = {k: v for k, v in request.headers.items() if k.lower() in CONDITIONS}
        if not manifest_get:
            headers["x-backend-ignore-range-if-metadata-present"] = \
                "X-Static-Large-Object,X-Object-Manifest"
            headers["x-backend-etag-is-at"] = "X-Object-Sysmeta-Slo-Etag"
        resp = await self._fetch(account, read_container, read_obj, "HEAD" if head else "GET",
                                 headers, follow=vid is None)
        if vid == "null" and LINK_ID in resp.headers:
            await resp.aclose()  # the current object has a real version id
            raise faults.NotFound()
        if vid not in (None, "null"):
            added["x-object-version-id"] = str(vid)
            if resp.headers.get("content-type") == versioning.DELETE_MARKER:
                await resp.aclose()
                raise faults.NotFound(headers={"x-object-version-id": str(vid),
                                               "content-type": versioning.DELETE_MARKER})
        elif "x-object-version-id" in resp.headers:
            added["x-object-version-id"] = resp.headers["x-object-version-id"]
            added["content-location"] = resp.headers["content-location"]
        elif versioning.is_versioned(cinfo):
            added["x-object-version-id"] = "null"
        if resp.status == 404:
            await resp.aclose()
            raise faults.NotFound()
        if not manifest_get and resp.ok and "x-static-large-object" in resp.headers:
            return await self._slo_get(request, account, resp, head, guard)
        if not manifest_get and resp.ok and "x-object-manifest" in resp.headers:
            return await self._dlo_get(request, account, resp, head, guard)
        out = _shown(resp.headers)
        cors.mark(out, cinfo, request.headers.get("origin"))
        if temp_used:
            self._disposition(out, q, obj)
        if manifest_get and "x-static-large-object" in resp.headers and not head:
            raw = await resp.read()
            if q.get("format") == "raw":
                raw = json.dumps([{"path": s["name"], "etag": s["hash"],
                                   "size_bytes": s["bytes"]} for s in json.loads(raw)]).encode()
            out["content-length"] = str(len(raw))
            out["content-type"] = "application/json; charset=utf-8"
            return Response(raw, status_code=200, headers=out)
        if head or resp.status in (304, 412) or not resp.ok:
            await resp.aclose()
            if resp.status == 416:
                raise faults.RangeNotSatisfiable(headers={
                    "content-range": resp.headers.get("content-range", "")})
            if resp.status == 412:
                raise PreconditionFailed(headers=out)
            if resp.status == 304:
                out.pop("content-length", None)
                return Response(b"", status_code=304, headers=out)
            if not resp.ok:
                raise fault_for(resp.status)
            return Response(b"", status_code=resp.status, headers=out)
        return StreamingResponse(_closing(resp), status_code=resp.status, headers=out)

    @staticmethod
    def _disposition(out: dict[str, str], q: Mapping[str, str], obj: str) -> None:
        """Temp URLs download as attachments named for the object (?filename=, ?inline)."""
        if "inline" in q:
            name = q.get("filename")
            out["content-disposition"] = (f'inline; filename="{name}"' if name else "inline")
            return
        name = q.get("filename") or obj.rsplit("/", 1)[-1]
        out["content-disposition"] = f'attachment; filename="{name}"; ' \
                                     f"filename*=UTF-8''{quote(name)}"

    async def _serve_segments(self, request: Request, account: str, shown: dict[str, str],
                              segments: list[large.Segment], etag: str, head: bool
                              ) -> Response:
        total = sum(s.size for s in segments)
        shown["etag"] = f'"{etag}"'
        shown["accept-ranges"] = "bytes"
        last_mod = _last_modified(shown.get("last-modified"))
        cond = hs.check_conditions(request.headers, etag, last_mod, request.method)
        if cond == 304:
            shown.pop("content-length", None)
            return Response(b"", status_code=304, headers=shown)
        if cond == 412:
            raise PreconditionFailed(headers={"etag": shown["etag"]})
        try:
            ranges = hs.parse_range(request.headers.get("range"), total)
        except hs.RangeError:
            raise faults.RangeNotSatisfiable(headers={"content-range": f"bytes */{total}"}
                                             ) from None

        async def fetch(seg: large.Segment) -> AsyncIterator[bytes]:
            hdrs = {}
            if seg.first != 0 or (seg.last is not None and seg.last != seg.length - 1):
                hdrs["range"] = f"bytes={seg.first}-{'' if seg.last is None else seg.last}"
            resp = await self._fetch(account, seg.container, seg.obj, "GET", hdrs)
            if not resp.ok:
                await resp.aclose()
                raise faults.Conflict("segment missing")
            return _closing(resp)

        async def read(start: int, end: int) -> AsyncIterator[bytes]:
            return large.stream_segments(large.slice_segments(segments, start, end), fetch)

        ctype = shown.get("content-type", "application/octet-stream")
        if ranges is None:
            shown["content-length"] = str(total)
            if head:
                return Response(b"", status_code=200, headers=shown)
            return StreamingResponse(large.stream_segments(
                large.slice_segments(segments, 0, total), fetch), status_code=200, headers=shown)
        if len(ranges) == 1:
            start, end = ranges[0]
            shown["content-length"] = str(end - start)
            shown["content-range"] = f"bytes {start}-{end - 1}/{total}"
            if head:
                return Response(b"", status_code=206, headers=shown)
            return StreamingResponse(await read(start, end), status_code=206, headers=shown)
        bound = hs.boundary()
        shown["content-type"] = f"multipart/byteranges;boundary={bound}"
        shown["content-length"] = str(hs.multipart_length(ranges, total, ctype, bound))
        if head:
            return Response(b"", status_code=206, headers=shown)
        return StreamingResponse(hs.multipart_ranges(ranges, total, ctype, bound, read),
                                 status_code=206, headers=shown)

    async def _slo_get(self, request: Request, account: str, resp: NodeResponse,
                       head: bool, guard: Guard = None) -> Response:
        shown = _shown(resp.headers)
        if head:
            await resp.aclose()
            shown["content-length"] = resp.headers.get(SLO_SIZE, "0")
            etag = resp.headers.get(SLO_ETAG, "")
            shown["etag"] = f'"{etag}"'
            return Response(b"", status_code=200, headers=shown)
        manifest = json.loads(await resp.read())
        segments = []
        for seg in manifest:
            container, _, obj = seg["name"].lstrip("/").partition("/")
            first, last = large.parse_seg_range(seg.get("range"), int(seg["bytes"]))
            segments.append(large.Segment(container, obj, int(seg["bytes"]), seg["hash"],
                                          first, last))
        if guard is not None:
            for seg_container in sorted({s.container for s in segments}):
                await guard(seg_container, False)
        etag = resp.headers.get(SLO_ETAG) or large.slo_etag(manifest)
        return await self._serve_segments(request, account, shown, segments, etag, head)

    async def _dlo_get(self, request: Request, account: str, resp: NodeResponse,
                       head: bool, guard: Guard = None) -> Response:
        await resp.aclose()
        shown = _shown(resp.headers)
        container, _, prefix = unquote(resp.headers["x-object-manifest"]).partition("/")
        if guard is not None:
            await guard(container, True)
        rows = await self._list_all(account, container, prefix)
        segments = [large.Segment(container, r["name"], int(r["bytes"]), r["hash"])
                    for r in rows if "name" in r]
        etag = large.dlo_etag([s.etag for s in segments])
        return await self._serve_segments(request, account, shown, segments, etag, head)

    async def _list_all(self, account: str, container: str, prefix: str = "",
                        reverse: bool = False, limit: int | None = None
                        ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        marker = ""
        while True:
            params = {"prefix": prefix, "limit": str(min(limit or 10000, 10000))}
            if marker:
                params["marker" if not reverse else "end_marker"] = marker
            if reverse:
                params["reverse"] = "1"
            resp = await self.p.cluster.read("container", (account, container), "GET",
                                             query=urlencode(params))
            if resp is None or not resp.ok:
                if resp is not None:
                    await resp.aclose()
                return rows
            page = versioning.present_rows(json.loads(await resp.read()))
            rows += page
            if not page or len(page) < 10000 or (limit and len(rows) >= limit):
                return rows[:limit] if limit else rows
            marker = page[-1]["name"]

    # ------------------------------------------------------------ writes
    @staticmethod
    def _check_manifest(headers: Mapping[str, str]) -> None:
        """A DLO names its segments' container: never a hidden (versions) one."""
        if versioning.has_reserved(unquote(headers.get("x-object-manifest", ""))):
            raise faults.BadRequest("X-Object-Manifest must be in the format container/prefix")

    def _expiry(self, headers: dict[str, str]) -> None:
        if "x-delete-after" in headers:
            try:
                after = int(headers.pop("x-delete-after"))
            except ValueError:
                raise faults.BadRequest("Non-integer X-Delete-After") from None
            if after < 0:
                raise faults.BadRequest("X-Delete-After in past")
            headers["x-delete-at"] = str(int(time.time() + after))
        if "x-delete-at" in headers:
            try:
                at = int(headers["x-delete-at"])
            except ValueError:
                raise faults.BadRequest("Non-integer X-Delete-At") from None
            if at <= time.time():
                raise faults.BadRequest("X-Delete-At in past")

    async def _check_quotas(self, account: str, container: str, cinfo: Info,
                            length: int | None) -> int | None:
        """413 if the upload would exceed a container's or the account's quota; the room
        left (bytes) for a chunked upload to be counted against, or None for no limit."""
        room: int | None = None
        qbytes = cinfo.meta("x-container-meta-quota-bytes")
        qcount = cinfo.meta("x-container-meta-quota-count")
        if qbytes or qcount:
            fresh = await self.p.cluster.info(account, container, fresh=True)
            if qcount and fresh.int("x-container-object-count") + 1 > int(qcount):
                raise faults.RequestTooLarge("Upload exceeds quota.")
            if qbytes:
                left = int(qbytes) - fresh.int("x-container-bytes-used") - \
                    await self.versioning.bytes_used(account, cinfo)
                if length is not None and length > left:
                    raise faults.RequestTooLarge("Upload exceeds quota.")
                room = left
        ainfo = await self.p.cluster.info(account, fresh=True)
        count_quota = ainfo.meta("x-account-sysmeta-quota-count")
        if count_quota and ainfo.int("x-account-object-count") + 1 > int(count_quota):
            raise faults.RequestTooLarge("Upload exceeds quota.")
        aq = ainfo.meta("x-account-meta-quota-bytes") or ainfo.meta("x-account-sysmeta-quota-bytes")
        if aq:
            left = int(aq) - ainfo.int("x-account-bytes-used")
            if length is not None and length > left:
                raise faults.RequestTooLarge("Upload exceeds quota.")
            room = left if room is None else min(room, left)
        return room

    async def put(self, ctx: RequestContext, request: Request, account: str, container: str,
                  obj: str) -> Response:
        cinfo = await self._container(account, container, obj)
        await self.authorize(ctx, request, "swift:put_object", account, container,
                                     cinfo, write=True)
        if cinfo.status == 503:
            raise faults.ServiceUnavailable()
        if not cinfo.exists:
            raise faults.NotFound()
        constraints.check_object_name(obj)
        headers = {k.lower(): v for k, v in request.headers.items()}
        q = query_of(request)
        if VERSION_ID in q and tempurl.parse(q) is None:
            Versioning.check_version_id("PUT", cinfo, q[VERSION_ID])
            return await self.versioning.put_version(request, account, container, obj,
                                                     q[VERSION_ID])
        if "x-copy-from" in headers:
            return await self._copy(ctx, request, account, headers.pop("x-copy-from"),
                                    account, container, obj, headers, cinfo)
        constraints.check_metadata(headers, "object")
        self._check_manifest(headers)
        self._expiry(headers)
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length: int | None = None
        if not chunked:
            raw = headers.get("content-length")
            if raw is None:
                raise LengthRequired("<html><h1>Length Required</h1><p>Length Required</p>"
                                     "</html>")
            try:
                length = int(raw)
            except ValueError:
                raise faults.BadRequest("Invalid Content-Length") from None
            if length < 0:
                raise faults.BadRequest("Invalid Content-Length")
        if length is not None and length > self.p.max_file_size:
            raise faults.RequestTooLarge()
        if headers.get("if-none-match") not in (None, "*"):
            raise faults.BadRequest("If-None-Match only supports *")
        if headers.get("if-none-match") == "*":
            existing = await self._fetch(account, container, obj, "HEAD", {})
            await existing.aclose()
            if existing.ok:
                raise PreconditionFailed()
        if q.get("multipart-manifest") == "put":
            raw_body = await request.body()
            return await self._slo_put(ctx, request, account, container, obj, headers, raw_body,
                                       cinfo)
        room = await self._check_quotas(account, container, cinfo, length)
        body: AsyncIterator[bytes] = request.stream()
        if room is not None and length is None:
            body = _limited(body, room)
        meta = {k: v for k, v in headers.items() if k.startswith(CARRIED)}
        ctype = headers.get("content-type")
        if not ctype or headers.get("x-detect-content-type", "").lower() == "true":
            ctype = mimetypes.guess_type(obj)[0] or "application/octet-stream"
        meta["content-type"] = ctype
        if "etag" in headers:
            meta["etag"] = headers["etag"]
        return await self.write(account, container, obj, cinfo, meta, body, length)

    async def write(self, account: str, container: str, obj: str, cinfo: Info,
                    meta: dict[str, str], body: AsyncIterator[bytes], length: int | None,
                    extra_headers: Mapping[str, str] | None = None) -> Response:
        """Store an object as its container's versioning says: a new version and a link
        (X-Versions-Enabled), the old one archived first (X-Versions/History-Location), or
        simply in place."""
        if versioning.is_enabled(cinfo):
            return await self.versioning.put(account, container, obj, meta, body, length,
                                             extra_headers)
        await self._archive_current(account, container, obj, cinfo)
        return await self._store(account, container, obj, meta, body, length, extra_headers)

    @staticmethod
    def version_meta(headers: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """What a copy of a stored object keeps (its metadata), and for a large object's
        manifest, the container row's size and etag of the whole."""
        meta = {k: v for k, v in headers.items()
                if k.startswith(CARRIED) or k in ("content-type", "x-static-large-object",
                                                  SLO_ETAG, SLO_SIZE)}
        extra = {}
        if SLO_SIZE in headers:
            extra = {"x-backend-container-update-override-size": headers[SLO_SIZE],
                     "x-backend-container-update-override-etag": headers.get(SLO_ETAG, "")}
        return meta, extra

    async def _store(self, account: str, container: str, obj: str, meta: dict[str, str],
                     body: AsyncIterator[bytes], length: int | None,
                     extra_headers: Mapping[str, str] | None = None,
                     ts: str | None = None) -> Response:
        ts = ts or self.p.cluster.timestamp()
        node_headers = {**meta, "x-timestamp": ts, **(extra_headers or {})}
        if length is not None:
            node_headers["content-length"] = str(length)
        else:
            node_headers["transfer-encoding"] = "chunked"
        targets = self.p.cluster.container_targets(account, container)
        responses = await self.p.cluster.stream_to_all(
            (account, container, obj), node_headers, body,
            lambda i: targets[i] if i < len(targets) else {})
        statuses = []
        etag = ""
        for r in responses:
            if r is None:
                statuses.append(503)
                continue
            statuses.append(r.status)
            if r.status == 201:
                etag = r.headers.get("etag", etag)
            await r.aclose()
        self.p.cluster.forget(account, container)
        if statuses.count(201) >= quorum(len(statuses)):
            return empty(201, {"etag": etag, "last-modified": http_date(ts)})
        for status in (422, 413, 499, 409):
            if statuses.count(status) >= quorum(len(statuses)):
                if status == 422:
                    raise Unprocessable()
                raise fault_for(status)
        raise faults.ServiceUnavailable()

    async def _slo_put(self, ctx: RequestContext, request: Request, account: str,
                       container: str, obj: str, headers: dict[str, str], raw: bytes,
                       cinfo: Info) -> Response:
        items = large.parse_slo_put(raw)
        problems: list[str] = []
        stored: list[dict[str, Any]] = []
        for item in items:
            seg_path = f"/{item['container']}/{item['obj']}"
            resp = await self._fetch(account, item["container"], item["obj"], "HEAD", {})
            await resp.aclose()
            if not resp.ok:
                problems.append(f"{quote(seg_path)}, {resp.status} "
                                f"{'Not Found' if resp.status == 404 else 'Error'}")
                continue
            size = int(resp.headers.get(SLO_SIZE) or resp.headers.get("content-length", "0"))
            etag = resp.headers.get(SLO_ETAG) or resp.headers.get("etag", "")
            if item["size_bytes"] is not None and item["size_bytes"] != size:
                problems.append(f"{quote(seg_path)}, Size Mismatch")
            if item["etag"] is not None and item["etag"].strip('"') != etag.strip('"'):
                problems.append(f"{quote(seg_path)}, Etag Mismatch")
            if size < 1:
                problems.append(f"{quote(seg_path)}, Too Small; each segment must be at least "
                                f"1 byte.")
            entry: dict[str, Any] = {
                "name": seg_path, "bytes": size, "hash": etag.strip('"'),
                "content_type": resp.headers.get("content-type", ""),
                "last_modified": resp.headers.get("last-modified", "")}
            if item["range"]:
                try:
                    first, last = large.parse_seg_range(item["range"], size)
                except ValueError:
                    problems.append(f"{quote(seg_path)}, Invalid Range")
                    continue
                entry["range"] = f"{first}-{last}"
            if "x-static-large-object" in resp.headers:
                entry["sub_slo"] = True
            stored.append(entry)
        if problems:
            raise faults.BadRequest("Errors:\n" + "\n".join(problems))
        total = 0
        for s in stored:
            first, last = large.parse_seg_range(s.get("range"), int(s["bytes"]))
            total += (int(s["bytes"]) - 1 if last is None else last) - first + 1
        slo = large.slo_etag(stored)
        if "etag" in headers and headers["etag"].strip('"') != slo:
            raise Unprocessable()
        await self._check_quotas(account, container, cinfo, 0)
        body = json.dumps(stored).encode()
        meta = {k: v for k, v in headers.items() if k.startswith(CARRIED)}
        meta["content-type"] = headers.get("content-type") or (
            mimetypes.guess_type(obj)[0] or "application/octet-stream")
        meta["x-static-large-object"] = "True"
        meta[SLO_ETAG] = slo
        meta[SLO_SIZE] = str(total)
        answer = await self.write(account, container, obj, cinfo, meta, _once(body), len(body), {
            "x-backend-container-update-override-size": str(total),
            "x-backend-container-update-override-etag": slo})
        answer.headers["etag"] = f'"{slo}"'
        return answer

    async def _copy(self, ctx: RequestContext, request: Request, src_account: str,
                    source: str, account: str, container: str, obj: str,
                    headers: dict[str, str], dest_cinfo: Info) -> Response:
        src = unquote(source).lstrip("/")
        src_container, sep, src_obj = src.partition("/")
        if not sep or not src_container or not src_obj:
            raise PreconditionFailed("X-Copy-From header must be of the form <container name>"
                                     "/<object name>")
        if headers.get("content-length", "0") not in ("0", ""):
            raise faults.BadRequest("Copy requests require a zero byte body")
        src_cinfo = await self._container(src_account, src_container, src_obj)
        q = query_of(request)
        src_vid = q.get(VERSION_ID) if request.method == "COPY" else None
        owner = self.p.access.is_owner(ctx, "swift:get_object", src_account)
        if not owner:
            if src_vid not in (None, "null") or not self.p.access.may_read(
                    ctx, src_cinfo.meta("x-container-read"), request.headers.get("referer"),
                    listing=False):
                raise self.p.access.deny(ctx)
        manifest = q.get("multipart-manifest") == "get"
        get_headers = {} if manifest else {
            "x-backend-ignore-range-if-metadata-present": "X-Static-Large-Object,X-Object-Manifest"}
        if src_vid is not None:
            Versioning.check_version_id("COPY", src_cinfo, src_vid)
        if src_vid not in (None, "null"):
            assert src_vid is not None
            resp = await self._fetch(src_account, versioning.versions_container(src_container),
                                     versioning.version_name(src_obj, versioning.normal_version(
                                         src_vid)), "GET", get_headers, follow=False)
            if resp.headers.get("content-type") == versioning.DELETE_MARKER:
                await resp.aclose()
                raise faults.NotFound()
        else:
            resp = await self._fetch(src_account, src_container, src_obj, "GET", get_headers,
                                     follow=src_vid is None)
            if src_vid == "null" and LINK_ID in resp.headers:
                await resp.aclose()
                raise faults.NotFound()
        if not resp.ok:
            await resp.aclose()
            raise fault_for(resp.status)
        src_headers = dict(resp.headers)
        body: AsyncIterator[bytes]
        length: int | None
        if not manifest and ("x-static-large-object" in src_headers
                             or "x-object-manifest" in src_headers):
            # A copy of a large object is its whole content, as one object.
            fake = _FakeRequest(request.headers)
            guard = None if owner else self._guard(ctx, request, src_account)
            served = await (self._slo_get(fake, src_account, resp, False,  # type: ignore[arg-type]
                                          guard)
                            if "x-static-large-object" in src_headers
                            else self._dlo_get(fake, src_account, resp, False,  # type: ignore[arg-type]
                                               guard))
            assert isinstance(served, StreamingResponse)
            body = served.body_iterator  # type: ignore[assignment]
            length = int(served.headers["content-length"])
            src_headers = {k: v for k, v in src_headers.items()
                           if k not in ("x-static-large-object", "x-object-manifest")}
        else:
            body = _closing(resp)
            length = int(src_headers.get("content-length", "0"))
        fresh = headers.get("x-fresh-metadata", "").lower() in ("true", "1", "yes")
        meta = {} if fresh else {k: v for k, v in src_headers.items() if k.startswith(CARRIED)}
        new_meta = {k: v for k, v in headers.items() if k.startswith(CARRIED)}
        constraints.check_metadata(new_meta, "object")
        meta.update(new_meta)
        self._check_manifest(meta)
        self._expiry(meta)
        meta["content-type"] = headers.get("content-type") or src_headers.get(
            "content-type", "application/octet-stream")
        if manifest and "x-static-large-object" in src_headers:
            for key in ("x-static-large-object", SLO_ETAG, SLO_SIZE):
                if key in src_headers:
                    meta[key] = src_headers[key]
        await self._check_quotas(account, container, dest_cinfo, length)
        out = await self.write(account, container, obj, dest_cinfo, meta, body, length)
        for key, value in meta.items():  # the new object's metadata, as Swift answers a copy
            if key.startswith("x-object-meta-"):
                out.headers[key] = value
        out.headers["x-copied-from"] = quote(f"{src_container}/{src_obj}")
        out.headers["x-copied-from-last-modified"] = src_headers.get("last-modified", "")
        if src_account != account:
            out.headers["x-copied-from-account"] = quote(src_account)
        return out

    async def copy(self, ctx: RequestContext, request: Request, account: str, container: str,
                   obj: str) -> Response:
        """COPY: the same as a PUT of Destination with X-Copy-From this object."""
        dest = request.headers.get("destination")
        if not dest:
            raise PreconditionFailed("You must provide a Destination header")
        dest = unquote(dest).lstrip("/")
        dest_container, sep, dest_obj = dest.partition("/")
        if not sep or not dest_obj:
            raise PreconditionFailed("Destination header must be of the form <container name>"
                                     "/<object name>")
        dest_account = request.headers.get("destination-account", account)
        cinfo = await self._container(dest_account, dest_container, dest_obj)
        await self.authorize(ctx, request, "swift:copy_object", dest_account, dest_container,
                             cinfo, write=True)
        if not cinfo.exists:
            raise faults.NotFound()
        headers = {k.lower(): v for k, v in request.headers.items()}
        headers.pop("content-length", None)
        return await self._copy(ctx, request, account, f"{container}/{obj}", dest_account,
                                dest_container, dest_obj, headers, cinfo)

    async def post(self, ctx: RequestContext, request: Request, account: str, container: str,
                   obj: str) -> Response:
        cinfo = await self._container(account, container, obj)
        await self.authorize(ctx, request, "swift:post_object", account, container, cinfo,
                             write=True)
        q = query_of(request)
        if VERSION_ID in q and tempurl.parse(q) is None:
            Versioning.check_version_id("POST", cinfo, q[VERSION_ID])
        headers = {k.lower(): v for k, v in request.headers.items()}
        constraints.check_metadata(headers, "object")
        self._check_manifest(headers)
        self._expiry(headers)
        meta = {k: v for k, v in headers.items()
                if k.startswith(("x-object-meta-", "content-type", "content-disposition",
                                 "content-encoding", "x-delete-at", "content-language",
                                 "cache-control", "expires", "x-object-manifest"))}
        if versioning.is_versioned(cinfo):
            linked = await self.versioning.post(account, container, obj, meta)
            if linked is not None:
                return linked
        ts = self.p.cluster.timestamp()
        targets = self.p.cluster.container_targets(account, container)
        statuses = await self.p.cluster.write_all(
            "object", (account, container, obj), "POST", {**meta, "x-timestamp": ts},
            per_node=lambda i, _d: targets[i] if i < len(targets) else {})
        good = [s for s in statuses if 200 <= s < 300]
        if len(good) >= quorum(len(statuses)) or (good and all(
                s in (202, 404, 503) for s in statuses) and len(good) >= 1):
            return empty(202, {"content-type": "text/html; charset=UTF-8"})
        if 404 in statuses:
            raise faults.NotFound()
        raise faults.ServiceUnavailable()

    async def delete(self, ctx: RequestContext, request: Request, account: str, container: str,
                     obj: str) -> Response:
        cinfo = await self._container(account, container, obj)
        q = query_of(request)
        vid = None if tempurl.parse(q) is not None else q.get(VERSION_ID)
        if vid is not None and vid != "null" and versioning.is_versioned(cinfo):
            # a given version: the owner's (Swift keeps versions in a container no ACL opens)
            cinfo = Info(cinfo.status, {k: v for k, v in cinfo.headers.items()
                                        if k not in ("x-container-read", "x-container-write")})
        await self.authorize(ctx, request, "swift:delete_object", account, container, cinfo,
                             write=True)
        if cinfo.status == 404:
            raise faults.NotFound()
        if vid is not None:
            Versioning.check_version_id("DELETE", cinfo, vid)
            if vid == "null":  # the object as it is (the legacy modes still apply)
                if versioning.is_versioned(cinfo):
                    return await self.delete_one(account, container, obj)
                return await self.remove(account, container, obj, cinfo)
            return await self.versioning.delete_version(account, container, obj, vid)
        if q.get("multipart-manifest") == "delete":
            return await self._slo_delete(request, account, container, obj)
        return await self.remove(account, container, obj, cinfo)

    async def remove(self, account: str, container: str, obj: str, cinfo: Info) -> Response:
        """DELETE as the container's versioning says (a delete marker, or the legacy
        modes' restore or archive), or simply."""
        if versioning.is_enabled(cinfo):
            return await self.versioning.delete(account, container, obj)
        versions = cinfo.meta("x-versions-location") or cinfo.meta("x-history-location")
        if versions and cinfo.meta("x-versions-location"):
            restored = await self._restore_previous(account, container, obj, versions)
            if restored:
                return empty(204)
        elif versions and cinfo.meta("x-history-location"):
            await self._archive_current(account, container, obj, cinfo)
        return await self.delete_one(account, container, obj)

    async def delete_one(self, account: str, container: str, obj: str,
                         extra: Mapping[str, str] | None = None) -> Response:
        ts = self.p.cluster.timestamp()
        targets = self.p.cluster.container_targets(account, container)
        statuses = await self.p.cluster.write_all(
            "object", (account, container, obj), "DELETE",
            {"x-timestamp": ts, **(extra or {})},
            per_node=lambda i, _d: targets[i] if i < len(targets) else {})
        self.p.cluster.forget(account, container)
        if 204 in statuses:
            return empty(204)
        if statuses.count(404) >= 1 and all(s in (404, 503) for s in statuses):
            raise faults.NotFound()
        if 412 in statuses:
            raise PreconditionFailed()
        raise faults.ServiceUnavailable()

    async def _slo_delete(self, request: Request, account: str, container: str, obj: str
                          ) -> Response:
        resp = await self._fetch(account, container, obj, "GET", {})
        if resp.status == 404:
            await resp.aclose()
            raise faults.NotFound()
        deleted = not_found = 0
        errors: list[list[str]] = []
        if resp.ok and "x-static-large-object" in resp.headers:
            for seg in json.loads(await resp.read()):
                seg_c, _, seg_o = seg["name"].lstrip("/").partition("/")
                try:
                    await self.delete_one(account, seg_c, seg_o)
                    deleted += 1
                except faults.NotFound:
                    not_found += 1
                except faults.Fault as e:
                    errors.append([seg["name"], f"{e.code} {e.title}"])
        else:
            await resp.aclose()
        try:
            await self.delete_one(account, container, obj)
            deleted += 1
        except faults.NotFound:
            not_found += 1
        result = {"Number Deleted": deleted, "Number Not Found": not_found,
                  "Response Body": "", "Response Status": "200 OK", "Errors": errors}
        if "json" in (request.headers.get("accept") or ""):
            return Response(json.dumps(result), status_code=200,
                            media_type="application/json")
        text = "".join(f"{k}: {v if k != 'Errors' else ''}\n" for k, v in result.items())
        return Response(text, status_code=200, media_type="text/plain")

    # ------------------------------------------------------------ versioning
    async def _archive_current(self, account: str, container: str, obj: str,
                               cinfo: Info) -> None:
        """Before an overwrite (or, in history mode, a delete): the current version goes to
        the versions container as <len><name>/<timestamp> (Swift's versioned_writes)."""
        versions = cinfo.meta("x-versions-location") or cinfo.meta("x-history-location")
        if not versions:
            return
        resp = await self._fetch(account, container, obj, "GET", {
            "x-backend-ignore-range-if-metadata-present": "X-Static-Large-Object,X-Object-Manifest"})
        if not resp.ok:
            await resp.aclose()
            return
        vc = unquote(versions).split("/")[0]
        name = f"{_version_prefix(obj)}{resp.headers.get('x-timestamp', '')}"
        meta = {k: v for k, v in resp.headers.items()
                if k.startswith(CARRIED) or k in ("content-type", "x-static-large-object",
                                                  SLO_ETAG, SLO_SIZE)}
        length = int(resp.headers.get("content-length", "0"))
        stored = await self._store(account, vc, name, meta, _closing(resp), length)
        if stored.status_code != 201:
            raise faults.ServiceUnavailable()

    async def _restore_previous(self, account: str, container: str, obj: str,
                                versions: str) -> bool:
        vc = unquote(versions).split("/")[0]
        rows = await self._list_all(account, vc, _version_prefix(obj), reverse=True, limit=1)
        if not rows:
            return False
        name = rows[0]["name"]
        resp = await self._fetch(account, vc, name, "GET", {
            "x-backend-ignore-range-if-metadata-present": "X-Static-Large-Object,X-Object-Manifest"})
        if not resp.ok:
            await resp.aclose()
            return False
        meta = {k: v for k, v in resp.headers.items()
                if k.startswith(CARRIED) or k in ("content-type", "x-static-large-object",
                                                  SLO_ETAG, SLO_SIZE)}
        length = int(resp.headers.get("content-length", "0"))
        await self._store(account, container, obj, meta, _closing(resp), length)
        try:
            await self.delete_one(account, vc, name)
        except faults.NotFound:
            pass
        return True


class _FakeRequest:
    """The bits of a request the large-object reader looks at, for a copy."""

    method = "GET"

    def __init__(self, headers: Mapping[str, str]):
        self.headers = {k: v for k, v in headers.items()
                        if k.lower() not in CONDITIONS}


async def _closing(resp: NodeResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in resp.iter_bytes():
            yield chunk
    finally:
        await resp.aclose()


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


async def _limited(body: AsyncIterator[bytes], room: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in body:
        seen += len(chunk)
        if seen > room:
            raise faults.RequestTooLarge("Upload exceeds quota.")
        yield chunk


def _last_modified(raw: str | None) -> float:
    if not raw:
        return 0.0
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError):
        return 0.0
