"""Containers: PUT, HEAD, GET (the object listing), POST, DELETE.

Metadata, ACLs (owner only), quotas (X-Container-Meta-Quota-Bytes/-Count, integers),
versioning locations and CORS settings are container metadata kept by the container
databases; the listing is read from the first replica that answers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.object import constraints
from overcast.object.proxy.accounts import Accounts
from overcast.object.proxy.cluster import Info, quorum
from overcast.object.proxy.common import POLICY_NAME, Proxy, empty, fault_for, query_of
from overcast.object.proxy.listing import (
    listing_format,
    listing_query,
    render_listing,
    render_node_listing,
)
from overcast.object.proxy.versioning import Versioning, has_reserved, present_rows

__all__ = ["Containers"]

#: Container metadata only the owner may set (the others may not widen their own access).
OWNER_ONLY = ("x-container-read", "x-container-write", "x-remove-container-read",
              "x-remove-container-write", "x-container-sync-key", "x-container-sync-to")
SETTABLE = ("x-container-meta-", "x-remove-container-meta-", "x-container-read",
            "x-container-write", "x-remove-container-read", "x-remove-container-write",
            "x-versions-location", "x-remove-versions-location", "x-history-location",
            "x-remove-history-location", "x-versions-mode")


class Containers:
    def __init__(self, proxy: Proxy):
        self.p = proxy
        self.accounts = Accounts(proxy)
        self.versioning = Versioning(proxy)

    @staticmethod
    def check_name(container: str) -> None:
        if len(container) > constraints.LIMITS["max_container_name_length"]:
            raise faults.BadRequest(f"Container name length of {len(container)} longer "
                                    f"than {constraints.LIMITS['max_container_name_length']}")
        if not container:
            raise faults.NotFound()
        if has_reserved(container):
            from overcast.object.errors import PreconditionFailed

            raise PreconditionFailed("Invalid UTF8 or contains NULL")

    def _meta(self, request: Request) -> dict[str, str]:
        headers = {k.lower(): v for k, v in request.headers.items()}
        constraints.check_metadata(headers, "container")
        for name in ("x-container-meta-quota-bytes", "x-container-meta-quota-count"):
            raw = headers.get(name)
            if raw:
                try:
                    int(raw)
                except ValueError:
                    raise faults.BadRequest(f"Invalid {name.rsplit('-', 1)[1]} quota."
                                            ) from None
        for name in ("x-versions-location", "x-history-location"):
            if headers.get(name):
                where = headers[name].split("/")[0]
                if not where:
                    raise faults.BadRequest("Versions location must be a container")
                if has_reserved(unquote(where)):
                    raise faults.BadRequest("Versions location must not contain NULL")
        if headers.get("x-versions-location"):
            headers["x-versions-mode"] = "stack"
        if headers.get("x-history-location"):
            headers["x-versions-mode"] = "history"
        for acl in ("x-container-read", "x-container-write"):
            if acl in headers:
                headers[acl] = ",".join(e.strip() for e in headers[acl].split(",")
                                        if e.strip())
        return {k: v for k, v in headers.items() if k.startswith(SETTABLE)}

    async def _headers(self, account: str, node: Mapping[str, str]) -> dict[str, str]:
        out = {k: v for k, v in node.items()
               if k.startswith(("x-container-", "x-versions-location", "x-history-location",
                                "x-timestamp")) and not k.startswith("x-container-sysmeta-")}
        out.pop("x-container-sync-key", None)
        out["x-storage-policy"] = POLICY_NAME
        await self.versioning.shown_headers(account, Info(200, dict(node)), out)
        return out

    async def put(self, ctx: RequestContext, request: Request, account: str,
                  container: str) -> Response:
        self.check_name(container)
        self.p.access.require_owner(ctx, "swift:put_container", account)
        meta = self._meta(request)
        meta.update(await self.versioning.configure(account, container, meta | {
            k.lower(): v for k, v in request.headers.items()}, creating=True))
        await self.accounts.ensure(account)
        ts = self.p.cluster.timestamp()
        statuses = await self.p.cluster.write_all("container", (account, container), "PUT",
                                                  {**meta, "x-timestamp": ts})
        self.p.cluster.forget(account, container)
        self.p.cluster.forget(account)
        good = [s for s in statuses if 200 <= s < 300]
        if len(good) < quorum(len(statuses)):
            raise faults.ServiceUnavailable()
        return empty(201 if 201 in good else 202)

    async def head(self, ctx: RequestContext, request: Request, account: str,
                   container: str) -> Response:
        self.check_name(container)
        info = await self.p.cluster.info(account, container, fresh=True)
        await self._authorize_read(ctx, request, account, info.headers)
        if info.status == 503:
            raise faults.ServiceUnavailable()
        if not info.exists:
            raise faults.NotFound()
        return empty(204, await self._headers(account, info.headers),
                     "text/plain; charset=utf-8")

    async def _authorize_read(self, ctx: RequestContext, request: Request, account: str,
                              headers: Mapping[str, str]) -> None:
        rule = "swift:head_container" if request.method == "HEAD" else "swift:get_container"
        if self.p.access.is_owner(ctx, rule, account):
            return
        if not self.p.access.may_read(ctx, headers.get("x-container-read"),
                                      request.headers.get("referer"), listing=True):
            raise self.p.access.deny(ctx)

    async def get(self, ctx: RequestContext, request: Request, account: str,
                  container: str) -> Response:
        self.check_name(container)
        info = await self.p.cluster.info(account, container)
        await self._authorize_read(ctx, request, account, info.headers)
        q = query_of(request)
        if "versions" in q:
            if not info.exists:
                raise faults.ServiceUnavailable() if info.status == 503 else faults.NotFound()
            return await self.versioning.listing(request, account, container, info,
                                                 await self._headers(account, info.headers))
        fmt = listing_format(q, request.headers.get("accept"))
        resp = await self.p.cluster.read("container", (account, container), "GET",
                                         query=listing_query(q, "container"))
        if resp is None:
            raise faults.ServiceUnavailable()
        if not resp.ok:
            await resp.aclose()
            raise fault_for(resp.status)
        raw = await resp.read()
        headers = await self._headers(account, resp.headers)
        if b"swift_versions_id=" in raw:
            # a versioned container's links: each shows its version's size and type
            rows = present_rows(json.loads(raw))
            body, ctype = render_listing("container", container, rows, fmt)
            is_empty = not rows
        else:
            body, ctype, is_empty = render_node_listing("container", container, raw, fmt)
        headers["content-type"] = ctype
        if is_empty and fmt == "plain":
            return empty(204, headers, ctype)
        return Response(body, status_code=200, headers=headers)

    async def post(self, ctx: RequestContext, request: Request, account: str,
                   container: str) -> Response:
        self.check_name(container)
        self.p.access.require_owner(ctx, "swift:post_container", account)
        meta = self._meta(request)
        meta.update(await self.versioning.configure(account, container, meta | {
            k.lower(): v for k, v in request.headers.items()}, creating=False))
        ts = self.p.cluster.timestamp()
        statuses = await self.p.cluster.write_all("container", (account, container), "POST",
                                                  {**meta, "x-timestamp": ts})
        self.p.cluster.forget(account, container)
        good = [s for s in statuses if 200 <= s < 300]
        if len(good) >= quorum(len(statuses)):
            return empty(204)
        if statuses.count(404) >= quorum(len(statuses)):
            raise faults.NotFound()
        raise faults.ServiceUnavailable()

    async def delete(self, ctx: RequestContext, request: Request, account: str,
                     container: str) -> Response:
        self.check_name(container)
        self.p.access.require_owner(ctx, "swift:delete_container", account)
        info = await self.p.cluster.info(account, container, fresh=True)
        await self.versioning.check_delete(account, info)
        ts = self.p.cluster.timestamp()
        statuses = await self.p.cluster.write_all("container", (account, container),
                                                  "DELETE", {"x-timestamp": ts})
        self.p.cluster.forget(account, container)
        self.p.cluster.forget(account)
        if 409 in statuses:
            raise faults.Conflict("<html><h1>Conflict</h1><p>There was a conflict when trying "
                                  "to complete your request.</p></html>")
        good = [s for s in statuses if 200 <= s < 300]
        if len(good) >= quorum(len(statuses)) or (good and all(
                s in (204, 404) for s in statuses)):
            await self.versioning.after_delete(account, info)
            return empty(204)
        if all(s in (404, 503) for s in statuses) and 404 in statuses:
            raise faults.NotFound()
        raise faults.ServiceUnavailable()
