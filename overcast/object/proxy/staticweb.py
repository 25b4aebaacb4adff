"""Static web: a container whose metadata says so serves a website to anonymous callers
(X-Container-Meta-Web-Index: the index object; -Web-Listings: an HTML listing, styled by
-Web-Listings-Css), as Swift's staticweb does. Token holders see the API unless they send
X-Web-Mode: true."""

from __future__ import annotations

import html
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from overcast.common.context import RequestContext
from overcast.object.proxy.cluster import Info
from overcast.object.proxy.objects import Objects

__all__ = ["web_get"]


def _web_mode(ctx: RequestContext, request: Request) -> bool:
    anonymous = ctx.credentials is None or ctx.credentials.user_id is None
    return anonymous or request.headers.get("x-web-mode", "").lower() in ("true", "1", "yes")


async def web_get(objects: Objects, ctx: RequestContext, request: Request, account: str,
                  container: str) -> Response | None:
    """The website's answer for GET on a container, or None when static web does not apply."""
    if request.method != "GET" or not _web_mode(ctx, request):
        return None
    info: Info = await objects.p.cluster.info(account, container)
    if not info.exists:
        return None
    index = info.meta("x-container-meta-web-index")
    if index:
        head = await objects._fetch(account, container, index, "HEAD", {})
        await head.aclose()
        if head.ok:
            return await objects.get(ctx, request, account, container, index)
    if (info.meta("x-container-meta-web-listings") or "").lower() in ("true", "1", "yes", "on"):
        if not objects.p.access.may_read(ctx, info.meta("x-container-read"),
                                         request.headers.get("referer"), listing=False):
            return None
        rows = await objects._list_all(account, container, "")
        return _listing_page(request.url.path, rows,
                             info.meta("x-container-meta-web-listings-css"))
    return None


def _listing_page(path: str, rows: list[dict[str, object]], css: str | None) -> Response:
    title = html.escape(path.rstrip("/") + "/")
    style = (f'  <link rel="stylesheet" type="text/css" href="{html.escape(css)}" />\n'
             if css else "")
    lines = ['<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" '
             '"http://www.w3.org/TR/html4/loose.dtd">', "<html>", " <head>",
             f"  <title>Listing of {title}</title>", style.rstrip("\n"), " </head>", " <body>",
             f'  <h1 id="title">Listing of {title}</h1>', '  <table id="listing">',
             '   <tr id="heading"><th class="colname">Name</th><th class="colsize">Size</th>'
             '<th class="coldate">Date</th></tr>']
    for row in rows:
        name = str(row.get("name", row.get("subdir", "")))
        lines.append(f'   <tr class="item"><td class="colname"><a href="{quote(name)}">'
                     f'{html.escape(name)}</a></td><td class="colsize">{row.get("bytes", "")}'
                     f'</td><td class="coldate">{html.escape(str(row.get("last_modified", "")))}'
                     f"</td></tr>")
    lines += ["  </table>", " </body>", "</html>"]
    body = "\n".join(line for line in lines if line) + "\n"
    return Response(body, media_type="text/html; charset=UTF-8")

