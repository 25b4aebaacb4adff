"""The ASGI app factory every service uses, and the request context dependency routes receive.

The chain, outermost first, the same in every service (one literal list in `build_app`):

    request_id ▶ access_log ▶ cors ▶ faults ▶ body_limit ▶ input_guard ▶ auth ▶ microversion
    ▶ policy_check ▶ router

- request_id: every request gets an id; answers 500 even for a bug in the layers below.
- access_log: one line per request (status 500 for a failure, 499 for a client that left);
  no header values, no bodies.
- cors: preflight requests answered before authentication; off unless [cors] allowed_origin.
- faults: any Fault raised below, by a middleware or a route, rendered in the service's dialect
  (Accept-dependent for image); anything else a 500 with a generic message.
- body_limit: JSON bodies capped (413) as oslo.middleware's sizelimit; streamed data exempt.
- input guard: NUL characters, NaN/Infinity and JSON nested deeper than MAX_JSON_DEPTH are a
  400 before anything parses or stores them.
- auth: X-Auth-Token → Credentials (+ application credential access rules), else 401 with
  Keystone's body, as keystonemiddleware answers before the service sees the request.
- microversion: for a service with microversions (common/microversion.py), the version the
  client asked for is negotiated (400/406) and named on the answer; off for the others.
- policy_check: a route that succeeded without checking the policy rule it declares
  (`common/api.py::policy`) is logged as a bug, raised under OVERCAST_STRICT_POLICY=1.

A trailing slash is never redirected (Starlette's default): OpenStack's routers answer
`GET /os-simple-tenant-usage/` or `DELETE /images/` with a 404, not the collection. Keystone
strips it (its URL normalizing middleware), Swift ignores it after an account:
`strip_trailing_slash`.

Middlewares are plain ASGI callables (no BaseHTTPMiddleware: the request id lives in a
contextvar, which BaseHTTPMiddleware does not propagate).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Annotated, Any, Protocol
from urllib.parse import unquote_to_bytes

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from overcast.common import faults
from overcast.common.api import POLICY_KEY, declared_rules
from overcast.common.auth import access_allowed
from overcast.common.context import RequestContext
from overcast.common.faults import Dialect, Fault
from overcast.common.microversion import SCOPE_KEY as MICROVERSION_KEY
from overcast.common.microversion import MicroversionMiddleware, Versioning
from overcast.common.policy import Credentials
from overcast.common.request_id import MICROVERSION, REQUEST_ID, current_request_id
from overcast.config import CorsSection

__all__ = [
    "CorsPolicy",
    "Ctx",
    "PublicRoute",
    "RequestContext",
    "StreamedRoute",
    "TokenValidator",
    "build_app",
    "current_request_id",
    "json_body",
    "parse_json",
]

log = logging.getLogger("overcast.api")

_request_id = REQUEST_ID

#: Status logged for a request whose client went away before the answer (nginx's 499).
CLIENT_CLOSED = 499
#: JSON nesting deeper than this is refused (400) before anything recurses over it.
MAX_JSON_DEPTH = 64


class TokenValidator(Protocol):
    """Turns a token into the caller's credentials, or raises faults.Unauthorized."""

    async def validate(self, token: str) -> Credentials: ...

    def auth_uri(self) -> str: ...


@dataclass(frozen=True)
class PublicRoute:
    """A (method, path prefix or exact path) that is served without a token; a `{name}`
    segment of an exact path matches any one segment."""

    method: str
    path: str
    prefix: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and method != self.method:
            return False
        if self.prefix:
            return path.startswith(self.path)
        if "{" in self.path:
            want, got = self.path.strip("/").split("/"), path.strip("/").split("/")
            return len(want) == len(got) and all(
                w == g or (w.startswith("{") and w.endswith("}") and g != "")
                for w, g in zip(want, got, strict=True))
        return path.rstrip("/") == self.path.rstrip("/") or path == self.path


@dataclass(frozen=True)
class StreamedRoute:
    """A (method, path regex) whose body is streamed data, exempt from the body size limit."""

    method: str
    pattern: str

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and re.fullmatch(self.pattern, path) is not None


@dataclass(frozen=True)
class CorsPolicy:
    """Who may call from a browser page on another origin (oslo.middleware cors semantics)."""

    allowed_origins: frozenset[str]
    allow_credentials: bool = True
    expose_headers: tuple[str, ...] = ()
    max_age: int = 3600
    allow_methods: frozenset[str] = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD",
                                               "OPTIONS"})
    allow_headers: frozenset[str] = frozenset()

    def allows(self, origin: str) -> bool:
        return "*" in self.allowed_origins or origin in self.allowed_origins

    @classmethod
    def from_config(cls, section: CorsSection, *, expose: Sequence[str] = (),
                    allow: Sequence[str] = ()) -> CorsPolicy | None:
        """The policy [cors] describes, with a service's own headers (`expose`: its response
        headers a page may read; `allow`: request headers a page may send); None when off."""
        origins = _words(section.allowed_origin, lower=False)
        if not origins:
            return None
        return cls(
            allowed_origins=frozenset(o.rstrip("/") for o in origins),
            allow_credentials=section.allow_credentials,
            expose_headers=tuple(dict.fromkeys([*expose, *_words(section.expose_headers, False)])),
            max_age=section.max_age,
            allow_methods=frozenset(m.upper() for m in _words(section.allow_methods, False)),
            allow_headers=frozenset([*_SIMPLE_HEADERS, *(h.lower() for h in allow),
                                     *_words(section.allow_headers, lower=True)]),
        )


#: Request headers a preflight always allows (oslo.middleware cors simple_headers).
_SIMPLE_HEADERS = ("accept", "accept-language", "content-type", "cache-control",
                   "content-language", "expires", "last-modified", "pragma")


def _words(raw: str, lower: bool) -> list[str]:
    return [w.strip().lower() if lower else w.strip() for w in raw.split(",") if w.strip()]


# -- the request context dependency --
async def _context(request: Request) -> RequestContext:
    ctx: RequestContext | None = request.scope.get("overcast.ctx")
    if ctx is None:
        ctx = RequestContext(
            request_id=current_request_id(),
            credentials=request.scope.get("overcast.credentials"),
            enforcer=getattr(request.state, "enforcer", None),
            declared=declared_rules(request.scope.get("route")),
            microversion=request.scope.get(MICROVERSION_KEY, (0, 0)),
        )
        request.scope["overcast.ctx"] = ctx
    return ctx


Ctx = Annotated[RequestContext, Depends(_context)]


# -- middlewares, outermost first --
async def _send_fault(send: Send, dialect: Dialect, fault: Fault, scope: Scope,
                      extra_headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    accept = _header(scope, b"accept")
    body, ctype = faults.render(dialect, fault, accept)
    if scope.get("method") == "HEAD":
        body = b""
    headers = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode()),
               *extra_headers]
    headers.extend((k.lower().encode("latin-1"), v.encode("latin-1"))
                   for k, v in fault.headers.items())
    await send({"type": "http.response.start", "status": fault.code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return str(value.decode("latin-1"))
    return None


class _Watched:
    """A `send` that remembers the status of the answer it passed on (0: none started)."""

    def __init__(self, send: Send):
        self.send = send
        self.status = 0

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self.send(message)


class RequestIdMiddleware:
    """Outermost layer: gives every request an id and answers 500 even for a bug."""

    def __init__(self, app: ASGIApp, dialect: Dialect, extra_header: str | None = None,
                 make_id: Callable[[], str] | None = None):
        self.app = app
        self.dialect = dialect
        self.extra_header = extra_header.lower().encode() if extra_header else None
        self.make_id = make_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = self.make_id() if self.make_id else f"req-{uuid.uuid4()}"
        token = _request_id.set(rid)
        # Nothing negotiated yet: an earlier request served in the same context (an in-process
        # client) must not lend this one its version.
        version_token = MICROVERSION.set((0, 0))
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-openstack-request-id", rid.encode()))
                if self.extra_header:
                    headers.append((self.extra_header, rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await _send_fault(send_with_id, self.dialect,
                              Fault("An unexpected error occurred."), scope)
        finally:
            _request_id.reset(token)
            MICROVERSION.reset(version_token)


class AccessLogMiddleware:
    """One line per request: method, path, status, duration; no header values, no bodies."""

    def __init__(self, app: ASGIApp, service: str):
        self.app = app
        self.log = logging.getLogger(f"overcast.{service}.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        watched = _Watched(send)
        status = 0
        try:
            await self.app(scope, receive, watched)
            status = watched.status
        except BaseException:
            # A failure after the answer started: the client saw a cut-off response.
            status = 500 if watched.status in (0, 200, 201, 204, 206) else watched.status
            raise
        finally:
            if scope.get("overcast.client_closed"):
                status = CLIENT_CLOSED
            elif status == 0:
                status = 500
            if self.log.isEnabledFor(logging.INFO):
                client = scope.get("client") or ("-", 0)
                # The query string is logged; it never carries a secret in OpenStack APIs.
                qs = scope.get("query_string", b"").decode("latin-1")
                self.log.info(
                    '%s "%s %s%s" %s %.1fms %s', client[0], scope["method"], scope["path"],
                    f"?{qs}" if qs else "", status, (time.perf_counter() - t0) * 1000,
                    current_request_id(),
                )


class CorsMiddleware:
    """Cross-origin requests as oslo.middleware's cors filter answers them.

    A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here,
    before authentication: 200 with the grant when origin, method and headers are allowed,
    else 200 without one (the browser then refuses). Other requests from an allowed origin
    get Access-Control-Allow-Origin and the exposed headers on their answer, errors included.
    """

    def __init__(self, app: ASGIApp, cors: CorsPolicy | None):
        self.app = app
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cors = self.cors
        origin = _header(scope, b"origin") if scope["type"] == "http" else None
        if cors is None or origin is None:
            await self.app(scope, receive, send)
            return
        wanted = _header(scope, b"access-control-request-method")
        if scope["method"] == "OPTIONS" and wanted is not None:
            await self._preflight(send, cors, origin, wanted,
                                  _header(scope, b"access-control-request-headers"))
            return
        if not cors.allows(origin):
            await self.app(scope, receive, send)
            return

        async def mark(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
                if cors.allow_credentials:
                    headers.append((b"access-control-allow-credentials", b"true"))
                if cors.expose_headers:
                    headers.append((b"access-control-expose-headers",
                                    ",".join(cors.expose_headers).encode()))
                headers.append((b"vary", b"Origin"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, mark)

    @staticmethod
    async def _preflight(send: Send, cors: CorsPolicy, origin: str, method: str,
                         requested: str | None) -> None:
        headers: list[tuple[bytes, bytes]] = [(b"content-length", b"0"), (b"vary", b"Origin")]
        names = [h.strip().lower() for h in (requested or "").split(",") if h.strip()]
        if (cors.allows(origin) and method.upper() in cors.allow_methods
                and all(n in cors.allow_headers for n in names)):
            headers += [(b"access-control-allow-origin", origin.encode("latin-1")),
                        (b"access-control-allow-methods", method.upper().encode()),
                        (b"access-control-max-age", str(cors.max_age).encode())]
            if cors.allow_credentials:
                headers.append((b"access-control-allow-credentials", b"true"))
            if names:
                headers.append((b"access-control-allow-headers", ",".join(names).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


class FaultMiddleware:
    """Renders whatever the layers below raise: a Fault in the service's dialect, a client that
    went away as nothing (logged 499), anything else as a 500 with a generic message."""

    def __init__(self, app: ASGIApp, dialect: Dialect):
        self.app = app
        self.dialect = dialect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watched = _Watched(send)
        try:
            await self.app(scope, receive, watched)
        except ClientDisconnect:
            scope["overcast.client_closed"] = True
            log.info("client closed the connection during %s %s", scope["method"], scope["path"])
        except Fault as fault:
            if watched.status:
                raise
            await _send_fault(watched, self.dialect, fault, scope)
        except Exception:
            if watched.status:
                raise
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            await _send_fault(watched, self.dialect, Fault("An unexpected error occurred."),
                              scope)


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` (413) before anything reads or parses them, as
    oslo.middleware's sizelimit: by Content-Length at once, by counting for chunked bodies.
    Streamed data routes (image data) are exempt; they stream and enforce their own caps."""

    def __init__(self, app: ASGIApp, max_bytes: int, streamed: Sequence[StreamedRoute]):
        self.app = app
        self.max_bytes = max_bytes
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(
                s.matches(scope["method"], scope["path"]) for s in self.streamed):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        too_large = faults.RequestTooLarge("Request is too large.")
        length = _header(scope, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > limit:
            raise too_large
        if length is None and _header(scope, b"transfer-encoding") is None:
            await self.app(scope, receive, send)  # no body (most GETs): nothing to count
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large
            return message

        await self.app(scope, counted, send)


class AuthMiddleware:
    """Authenticate early: X-Auth-Token → Credentials in the scope, else 401 unless public.

    Access rules of an application credential are enforced here for every service, as
    keystonemiddleware does: a request that matches none of them for this service type is a
    401, unless a valid X-Service-Token shows it is a service acting for the user."""

    def __init__(self, app: ASGIApp, validator: Callable[[], TokenValidator | None],
                 public: Sequence[PublicRoute], service_type: str):
        self.app = app
        self.validator = validator
        self.public = public
        self.service_type = service_type

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _header(scope, b"x-auth-token")
        validator = self.validator()
        public = any(p.matches(scope["method"], scope["path"]) for p in self.public)
        if token and validator is not None:
            try:
                creds = await validator.validate(token)
                if not await self._allowed(creds, scope, validator):
                    raise faults.Unauthorized("The request you have made requires authentication.")
                scope["overcast.credentials"] = creds
            except faults.Unauthorized as e:
                if not public:
                    await self._deny(send, e, validator, scope)
                    return
        elif not public:
            await self._deny(
                send, faults.Unauthorized("The request you have made requires authentication."),
                validator, scope)
            return
        await self.app(scope, receive, send)

    async def _allowed(self, creds: Credentials, scope: Scope, validator: TokenValidator) -> bool:
        if access_allowed(creds, self.service_type, scope["method"], scope["path"]):
            return True
        # A request with a valid service token is a chain of calls, not the user's own.
        service_token = _header(scope, b"x-service-token")
        if not service_token:
            return False
        service = await validator.validate(service_token)
        return "service" in service.roles or "admin" in service.roles

    async def _deny(self, send: Send, fault: Fault, validator: TokenValidator | None,
                    scope: Scope) -> None:
        uri = validator.auth_uri() if validator is not None else None
        if self.service_type == "identity":
            # Keystone's own refusal: its error body, the versioned URI.
            await _send_fault(send, "identity", fault, scope, _www_authenticate(uri))
            return
        # Elsewhere keystonemiddleware refuses before the service sees the request: webob's
        # 401 page in the format Accept asks for, pointing at the unversioned identity URL
        # (www_authenticate_uri as deployment tools set it).
        base = uri[:-3] if uri and uri.endswith("/v3") else uri
        refusal = faults.Unauthorized(faults.UNAUTHORIZED_EXPLANATION)
        body, ctype = faults.render_webob(refusal, _header(scope, b"accept"))
        if scope.get("method") == "HEAD":
            body = b""
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode()),
            *_www_authenticate(base)]})
        await send({"type": "http.response.body", "body": body})


def _www_authenticate(uri: str | None) -> list[tuple[bytes, bytes]]:
    return [(b"www-authenticate", f'Keystone uri="{uri}"'.encode())] if uri else []


# -- FastAPI's own errors, in the dialect --
def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        if err.get("type") == "json_invalid":
            return "Malformed request body: the body is not valid JSON."
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "Invalid input for field/attribute: " + "; ".join(parts)


def _too_deep(raw: bytes) -> bool:
    """Whether JSON text nests arrays/objects deeper than MAX_JSON_DEPTH (strings skipped)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return False  # the common case, decided in C
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def parse_json(raw: bytes) -> Any:
    """A request body as JSON, or BadRequest: malformed, or nested deeper than MAX_JSON_DEPTH
    (deep nesting would exhaust the stack of whatever walks it later)."""
    if _too_deep(raw):
        raise faults.BadRequest(
            f"Malformed request body: JSON nested deeper than {MAX_JSON_DEPTH} levels.")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise faults.BadRequest("Malformed request body: the body is not valid JSON.") from e


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or BadRequest; for routes with free-form bodies."""
    raw = await request.body()
    value = parse_json(raw or b"{}")
    if not isinstance(value, dict):
        raise faults.BadRequest("Malformed request body: a JSON object is required.")
    return value


#: A JSON string escape for NUL: \u0000 after an even number of backslashes (so not the text
#: "\\u0000", a backslash followed by "u0000").
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
NUL_REFUSED = "Invalid input: text may not contain the NUL character (\\u0000)."


def _refuse_constant(word: str) -> float:
    raise faults.BadRequest(f"Invalid input: {word} is not a JSON number.")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise faults.BadRequest(f"Invalid input: the number {text[:40]} is too large.")
    return value


class InputGuard:
    """Refuses, for every service and before any route, what no database stores faithfully
    and what would exhaust a stack (400 in the service's fault shape):

    - a NUL character in the path, the query or a JSON body's strings (PostgreSQL cannot store
      it in text: a 500 there, silently kept elsewhere);
    - NaN, Infinity or a number beyond a double in a JSON body (not JSON; MariaDB and
      PostgreSQL refuse them in JSON columns);
    - JSON nested deeper than MAX_JSON_DEPTH.

    JSON bodies here are small (the body limit is outside); they are read whole, checked and
    replayed to the route. Streamed data routes pass untouched.
    """

    def __init__(self, app: ASGIApp, streamed: Sequence[StreamedRoute]):
        self.app = app
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or (raw_query and b"\x00" in unquote_to_bytes(raw_query)):
            raise faults.BadRequest(NUL_REFUSED)
        ctype = _header(scope, b"content-type") or ""
        if "json" not in ctype.lower() or any(
                s.matches(scope["method"], scope["path"]) for s in self.streamed):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        _check_json(raw)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _check_json(raw: bytes) -> None:
    if _too_deep(raw):
        raise faults.BadRequest(
            f"Malformed request body: JSON nested deeper than {MAX_JSON_DEPTH} levels.")
    if b"\\u0000" in raw and _NUL_ESCAPE.search(raw):
        raise faults.BadRequest(NUL_REFUSED)
    if re.search(rb"NaN|Infinity|[0-9][eE][+]?[0-9]{3}", raw):  # only then worth a parse
        try:
            json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite)
        except (ValueError, RecursionError):
            pass  # malformed: the route's own parsing says so in its words


class StripTrailingSlash:
    """Serves a path that ends in a slash and matches `pattern` as the path without it:
    Keystone's URL normalization (`/v3/users/` is `/v3/users`), Swift's account (`/v1/AUTH_x/`
    is the account, its empty container name ignored). The root stays `/`."""

    def __init__(self, app: ASGIApp, pattern: str):
        self.app = app
        self.pattern = re.compile(pattern)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (scope["type"] == "http" and len(path) > 1 and path.endswith("/")
                and self.pattern.fullmatch(path)):
            scope["path"] = path.rstrip("/") or "/"
            raw = scope.get("raw_path")
            if isinstance(raw, bytes) and raw.endswith(b"/"):
                scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


class UncheckedPolicy(RuntimeError):
    """A route answered with success without checking the policy rule it declares."""


class PolicyCheckMiddleware:
    """Innermost layer: a route that answered with success without checking the policy rule it
    declares is a bug. It is logged, and raised when OVERCAST_STRICT_POLICY=1 (the test suite
    sets it), so every request a test makes proves its route enforces what it declares."""

    def __init__(self, app: ASGIApp, strict: bool):
        self.app = app
        self.strict = strict

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watched = _Watched(send)
        await self.app(scope, receive, watched)
        status = watched.status
        route = scope.get("route")
        declared = (getattr(route, "openapi_extra", None) or {}).get(POLICY_KEY)
        if not declared or status >= 400:
            return
        ctx: RequestContext | None = scope.get("overcast.ctx")
        # Some routes pick their rule by the request (Keystone's trust list: list_trusts, or
        # list_trusts_for_trustor when filtered by trustor): one of the declared must be checked.
        if ctx is None or not any(rule in ctx.checked for rule in declared):
            name = f"{scope['method']} {getattr(route, 'path', scope['path'])}"
            rules = " or ".join(declared)
            log.error("%s answered %s without checking its policy rule %s", name, status, rules)
            if self.strict:
                raise UncheckedPolicy(f"{name} answered {status} without checking {rules}")


def build_app(
    *,
    service: str,
    service_type: str,
    dialect: Dialect,
    routers: Iterable[APIRouter],
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Any]]],
    validator: Callable[[FastAPI], TokenValidator | None],
    public: Sequence[PublicRoute] = (),
    streamed: Sequence[StreamedRoute] = (),
    max_body: int = 114_688,
    cors: CorsPolicy | None = None,
    request_id_header: str | None = None,
    request_id_format: Callable[[], str] | None = None,
    www_authenticate: str | None = None,
    anonymous: Sequence[PublicRoute] = (),
    versioning: Versioning | None = None,
    unversioned: Sequence[str] = (),
    strip_trailing_slash: str | None = None,
) -> FastAPI:
    """Assemble a service's ASGI app: the middleware chain, fault renderers and routers.

    `lifespan` yields the service's state (engines, services, enforcer, ...); it reaches every
    request as `request.state`. `validator(app)` returns the token validator once the lifespan
    has run (None: every route is public, e.g. a service with auth switched off in tests).
    `service_type` is the catalog type access rules name (identity, image, compute, ...).
    `www_authenticate`: the identity URL a route's own 401 names (Keystone's).
    `request_id_format`: makes a request id in the service's own form (Swift's tx... ids).
    `anonymous`: routes that also serve callers without a valid token (Swift's
    delay_auth_decision: the route decides, e.g. by a container ACL); unlike public routes
    they declare and check policy rules, with empty credentials for an anonymous caller.
    `versioning`: the service's microversions (common/microversion.py), negotiated on every
    path but the `unversioned` ones (regexes: the version documents).
    `strip_trailing_slash`: a regex of the paths (slash included) served as the path without
    their trailing slash (Keystone: all); any other path that only a trailing slash tells from
    a route is a 404, never a redirect to it.
    """
    app = FastAPI(lifespan=lifespan, openapi_url=f"/openapi-{service}.json", docs_url=None,
                  redoc_url=None, redirect_slashes=False)
    for router in routers:
        app.include_router(router)

    def respond(request: Request, fault: Fault) -> Response:
        body, ctype = faults.render(dialect, fault, request.headers.get("accept"))
        if request.method == "HEAD":
            body = b""
        headers = dict(fault.headers)
        if fault.code == 401 and www_authenticate:
            # Keystone says where to authenticate on every 401, a failed login's too.
            headers.setdefault("WWW-Authenticate", f'Keystone uri="{www_authenticate}"')
        return Response(body, status_code=fault.code, media_type=ctype, headers=headers)

    @app.exception_handler(Fault)
    async def _on_fault(request: Request, exc: Fault) -> Response:
        return respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _on_invalid(request: Request, exc: RequestValidationError) -> Response:
        return respond(request, faults.BadRequest(_validation_message(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400:  # FastAPI could not parse the body
            return respond(request, faults.BadRequest(
                "Malformed request body: the body could not be parsed."))
        cls = {404: faults.NotFound, 405: faults.MethodNotAllowed}.get(exc.status_code, Fault)
        fault = cls("The resource could not be found." if exc.status_code == 404 else None)
        if cls is Fault:
            fault.code = exc.status_code
        return respond(request, fault)

    def _validator() -> TokenValidator | None:
        return validator(app)

    # The chain: add_middleware puts each layer outside the ones added before it, so this
    # list reads innermost first: router ◀ policy check ◀ [microversion] ◀ auth ◀ input guard
    # ◀ body_limit ◀ faults ◀ cors ◀ access_log ◀ request_id.
    app.add_middleware(PolicyCheckMiddleware,
                       strict=os.environ.get("OVERCAST_STRICT_POLICY") == "1")
    if strip_trailing_slash:
        app.add_middleware(StripTrailingSlash, pattern=strip_trailing_slash)
    if versioning is not None:
        app.add_middleware(MicroversionMiddleware, versioning=versioning,
                           unversioned=list(unversioned))
    app.add_middleware(AuthMiddleware, validator=_validator,
                       public=[*public, *anonymous], service_type=service_type)
    app.add_middleware(InputGuard, streamed=list(streamed))
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body, streamed=list(streamed))
    app.add_middleware(FaultMiddleware, dialect=dialect)
    if cors is not None:  # off by default: then not even a pass-through layer
        app.add_middleware(CorsMiddleware, cors=cors)
    app.add_middleware(AccessLogMiddleware, service=service)
    app.add_middleware(RequestIdMiddleware, dialect=dialect, extra_header=request_id_header,
                       make_id=request_id_format)
    return app
