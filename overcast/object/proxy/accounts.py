"""Accounts: HEAD, GET (the container listing), POST (metadata, quotas, temp URL keys).

An account exists as soon as its owner uses it (Swift's account_autocreate): reading an
account that was never written answers as an empty one, and the first container PUT
creates it on its replicas."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.object import constraints
from overcast.object.proxy.common import POLICY_NAME, Proxy, empty, fault_for, query_of
from overcast.object.proxy.listing import listing_format, listing_query, render_listing
from overcast.object.proxy.versioning import AFTER_RESERVED, Versioning

__all__ = ["Accounts"]

_QUOTA = "x-account-meta-quota-bytes"
_QUOTA_HEADERS = (_QUOTA, "x-remove-account-meta-quota-bytes", "x-account-quota-bytes",
                  "x-remove-account-quota-bytes", "x-account-quota-count",
                  "x-remove-account-quota-count")


class Accounts:
    def __init__(self, proxy: Proxy):
        self.p = proxy

    def _check_name(self, account: str) -> None:
        if len(account) > constraints.LIMITS["max_account_name_length"]:
            raise faults.BadRequest("Account name length of "
                                    f"{len(account)} longer than 256")

    @staticmethod
    def _headers(node: dict[str, str], fmt: str | None = None) -> dict[str, str]:
        out = {k.replace("x-account-sysmeta-", "x-account-"): v for k, v in node.items()
               if k.startswith(("x-account-", "x-timestamp"))}
        if int(out.get("x-account-container-count", "0")) > 0:
            pre = f"x-account-storage-policy-{POLICY_NAME.lower()}-"
            out[pre + "container-count"] = out["x-account-container-count"]
            out[pre + "object-count"] = out.get("x-account-object-count", "0")
            out[pre + "bytes-used"] = out.get("x-account-bytes-used", "0")
        return out

    async def _autocreated(self) -> dict[str, str]:
        return {"x-account-container-count": "0", "x-account-object-count": "0",
                "x-account-bytes-used": "0", "x-timestamp": self.p.cluster.timestamp()}

    async def head(self, ctx: RequestContext, request: Request, account: str) -> Response:
        self._check_name(account)
        self.p.access.require_owner(ctx, "swift:head_account", account)
        resp = await self.p.cluster.read("account", (account,), "HEAD")
        if resp is None:
            raise faults.ServiceUnavailable()
        await resp.aclose()
        headers = (await self._autocreated() if resp.status == 404
                   else self._headers(resp.headers))
        return empty(204, headers, "text/plain; charset=utf-8")

    async def get(self, ctx: RequestContext, request: Request, account: str) -> Response:
        self._check_name(account)
        self.p.access.require_owner(ctx, "swift:get_account", account)
        q = query_of(request)
        fmt = listing_format(q, request.headers.get("accept"))
        # the hidden containers (versions, NUL-prefixed) sort first: start past them
        bound = "end_marker" if q.get("reverse", "").lower() in (
            "1", "true", "yes", "on", "t", "y") else "marker"
        if not q.get(bound) or q[bound] < AFTER_RESERVED:
            q[bound] = AFTER_RESERVED
        resp = await self.p.cluster.read("account", (account,), "GET",
                                         query=listing_query(q, "account"))
        if resp is None:
            raise faults.ServiceUnavailable()
        if resp.status == 404:
            await resp.aclose()
            rows: list[dict[str, Any]] = []
            headers = await self._autocreated()
        elif not resp.ok:
            await resp.aclose()
            raise fault_for(resp.status)
        else:
            rows = json.loads(await resp.read())
            headers = self._headers(resp.headers)
            await Versioning(self.p).account_bytes(account, rows)
        body, ctype = render_listing("account", account, rows, fmt)
        headers["content-type"] = ctype
        if not rows and fmt == "plain":
            return empty(204, headers, ctype)
        return Response(body, status_code=200, headers=headers)

    async def post(self, ctx: RequestContext, request: Request, account: str) -> Response:
        self._check_name(account)
        self.p.access.require_owner(ctx, "swift:post_account", account)
        headers = {k.lower(): v for k, v in request.headers.items()}
        constraints.check_metadata(headers, "account")
        reseller = ctx.can("swift:reseller_request")
        quota_headers = [h for h in headers if h in _QUOTA_HEADERS]
        if quota_headers and not reseller:
            raise faults.Forbidden()
        for name in (_QUOTA, "x-account-quota-bytes", "x-account-quota-count"):
            if headers.get(name):
                try:
                    if int(headers[name]) < 0:
                        raise ValueError
                except ValueError:
                    raise faults.BadRequest(f"Invalid {name.rsplit('-', 1)[1]} quota."
                                            ) from None
        meta = {k: v for k, v in headers.items()
                if k.startswith(("x-account-meta-", "x-remove-account-meta-"))}
        # The newer quota headers are kept as system metadata (shown under their own names).
        for name in ("x-account-quota-bytes", "x-account-quota-count"):
            if name in headers:
                meta[name.replace("x-account-", "x-account-sysmeta-")] = headers[name]
            if f"x-remove-{name[2:]}" in headers:
                meta[f"x-remove-{name[2:]}".replace("account-", "account-sysmeta-")] = "x"
        ts = self.p.cluster.timestamp()
        statuses = await self.p.cluster.write_all("account", (account,), "POST",
                                                  {**meta, "x-timestamp": ts})
        if statuses.count(404) >= len(statuses) // 2 + 1 or all(
                s in (404, 503) for s in statuses):
            await self.ensure(account)
            statuses = await self.p.cluster.write_all("account", (account,), "POST",
                                                      {**meta, "x-timestamp": ts})
        self.p.cluster.forget(account)
        if sum(1 for s in statuses if 200 <= s < 300) < len(statuses) // 2 + 1:
            raise faults.ServiceUnavailable()
        return empty(204)

    async def ensure(self, account: str) -> None:
        """Create the account on its replicas if it is not there (autocreate)."""
        info = await self.p.cluster.info(account)
        if info.exists:
            return
        ts = self.p.cluster.timestamp()
        await self.p.cluster.write_all("account", (account,), "PUT", {"x-timestamp": ts})
        self.p.cluster.forget(account)
