"""Bulk operations: delete many objects and containers in one request
(POST ?bulk-delete), and upload a tar archive as objects (PUT ?extract-archive=tar|tar.gz|
tar.bz2), answered with Swift's summary in the format Accept asks for."""

from __future__ import annotations

import asyncio
import json
import tarfile
import tempfile
from collections.abc import AsyncIterator
from typing import IO, Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.object.proxy.cluster import quorum
from overcast.object.proxy.objects import Objects
from overcast.object.proxy.versioning import has_reserved

__all__ = ["bulk_delete", "extract_archive"]

MAX_DELETES = 10000
MAX_EXTRACT_CONTAINERS = 10000
#: The most a bulk delete's list may hold (Swift's max_path_length * max_deletes_per_request).
MAX_DELETE_BODY = MAX_DELETES * 1100


def _summary(request: Request, result: dict[str, Any]) -> Response:
    accept = (request.headers.get("accept") or "").lower()
    if "json" in accept:
        return Response(json.dumps(result), media_type="application/json")
    if "xml" in accept:
        rows = "".join(f"<{k.lower().replace(' ', '_')}>{v}</{k.lower().replace(' ', '_')}>"
                       for k, v in result.items() if k != "Errors")
        errors = "".join(f"<object><name>{n}</name><status>{s}</status></object>"
                         for n, s in result["Errors"])
        return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n<delete>{rows}'
                        f"<errors>{errors}</errors></delete>", media_type="application/xml")
    text = "".join(f"{k}: {v}\n" for k, v in result.items() if k != "Errors")
    text += "Errors:\n" + "".join(f"{n}, {s}\n" for n, s in result["Errors"])
    return Response(text, media_type="text/plain")


async def bulk_delete(objects: Objects, ctx: RequestContext, request: Request,
                      account: str) -> Response:
    objects.p.access.require_owner(ctx, "swift:delete_object", account)
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_DELETE_BODY:
            raise faults.RequestTooLarge("Max delete paths exceeded")
    paths = [unquote(line.strip()) for line in raw.decode("utf-8", "replace").splitlines()
             if line.strip()]
    if len(paths) > MAX_DELETES:
        raise faults.RequestTooLarge(f"Maximum Bulk Deletes: {MAX_DELETES} per request")
    deleted = not_found = 0
    errors: list[list[str]] = []
    cluster = objects.p.cluster
    for path in paths:
        container, _, obj = path.lstrip("/").partition("/")
        if not container:
            errors.append([path, "400 Bad Request"])
            continue
        if has_reserved(path):
            errors.append([path, "412 Precondition Failed"])
            continue
        try:
            if obj:
                await objects.remove(account, container, obj,
                                     await cluster.info(account, container))
            else:
                info = await cluster.info(account, container, fresh=True)
                await objects.versioning.check_delete(account, info)
                statuses = await cluster.write_all("container", (account, container), "DELETE",
                                                   {"x-timestamp": cluster.timestamp()})
                cluster.forget(account, container)
                if 409 in statuses:
                    raise faults.Conflict()
                if not any(200 <= s < 300 for s in statuses):
                    raise faults.NotFound()
                await objects.versioning.after_delete(account, info)
            deleted += 1
        except faults.NotFound:
            not_found += 1
        except faults.Fault as e:
            errors.append([path, f"{e.code} {e.title}"])
    status = "400 Bad Request" if errors else "200 OK"
    return _summary(request, {"Number Deleted": deleted, "Number Not Found": not_found,
                              "Response Body": "", "Response Status": status,
                              "Errors": errors})


async def extract_archive(objects: Objects, ctx: RequestContext, request: Request,
                          account: str, container: str | None) -> Response:
    kind = request.query_params.get("extract-archive")
    modes = {"tar": "r:", "tar.gz": "r:gz", "tar.bz2": "r:bz2"}
    if kind not in modes:
        raise faults.BadRequest("Unsupported archive format")
    objects.p.access.require_owner(ctx, "swift:put_object", account)
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 << 20)
    try:
        async for chunk in request.stream():
            await asyncio.to_thread(spool.write, chunk)
        await asyncio.to_thread(spool.seek, 0)
        try:
            tar = await asyncio.to_thread(_open_tar, spool, modes[kind])
        except (tarfile.TarError, EOFError, OSError):
            raise faults.BadRequest("Invalid Tar File: not a tar archive") from None
        created = 0
        errors: list[list[str]] = []
        made: set[str] = set()
        cluster = objects.p.cluster
        members = await asyncio.to_thread(tar.getmembers)
        for member in members:
            if not member.isfile():
                continue
            name = member.name.lstrip("./").lstrip("/")
            if container is None:
                cont, _, obj = name.partition("/")
            else:
                cont, obj = container, name
            if not cont or not obj:
                continue
            if has_reserved(name):
                errors.append([name, "412 Precondition Failed"])
                continue
            if cont not in made:
                if len(made) >= MAX_EXTRACT_CONTAINERS:
                    errors.append([name, "400 Bad Request"])
                    continue
                info = await cluster.info(account, cont)
                if not info.exists:
                    statuses = await cluster.write_all("container", (account, cont), "PUT",
                                                       {"x-timestamp": cluster.timestamp()})
                    cluster.forget(account, cont)
                    if sum(1 for s in statuses if 200 <= s < 300) < quorum(len(statuses)):
                        errors.append([name, "503 Service Unavailable"])
                        continue
                made.add(cont)
            handle = await asyncio.to_thread(tar.extractfile, member)
            if handle is None:
                continue
            data = await asyncio.to_thread(handle.read)
            try:
                await objects.write(account, cont, obj, await cluster.info(account, cont), {
                    "content-type": "application/octet-stream"}, _once(data), len(data))
                created += 1
            except faults.Fault as e:
                errors.append([name, f"{e.code} {e.title}"])
        status = "400 Bad Request" if errors else "201 Created"
        return _summary(request, {"Number Files Created": created, "Response Body": "",
                                  "Response Status": status, "Errors": errors})
    finally:
        spool.close()


def _open_tar(spool: IO[bytes], mode: str) -> tarfile.TarFile:
    opened: tarfile.TarFile = tarfile.open(fileobj=spool, mode=mode)  # type: ignore[call-overload]
    return opened


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
