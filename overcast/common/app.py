"""The ASGI app factory every service uses, and the request context routes receive.

The chain, outermost first, the same in every service (one literal list in `build_app`):

    request_id ▶ access_log (secrets redacted) ▶ auth (X-Auth-Token → Credentials) ▶ router
    faults: FastAPI exception handlers render any error in the service's dialect.

Middlewares are plain ASGI callables (no BaseHTTPMiddleware: the request id lives in a
contextvar, which BaseHTTPMiddleware does not propagate).
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from overcast.common import faults
from overcast.common.faults import Dialect, Fault
from overcast.common.policy import Credentials, Enforcer

__all__ = [
    "Ctx",
    "PublicRoute",
    "RequestContext",
    "TokenValidator",
    "build_app",
    "current_request_id",
]

log = logging.getLogger("overcast.api")

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Headers whose values never reach a log line (Swift's register_sensitive_header idea).
SENSITIVE_HEADERS = frozenset({b"x-auth-token", b"x-subject-token", b"x-service-token",
                               b"authorization", b"cookie"})


def current_request_id() -> str:
    """The id of the request being served, for log lines and error bodies."""
    return _request_id.get()


class TokenValidator(Protocol):
    """Turns a token into the caller's credentials, or raises faults.Unauthorized."""

    async def validate(self, token: str) -> Credentials: ...

    def auth_uri(self) -> str: ...


@dataclass(frozen=True)
class PublicRoute:
    """A (method, path prefix or exact path) that is served without a token."""

    method: str
    path: str
    prefix: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and method != self.method:
            return False
        if self.prefix:
            return path.startswith(self.path)
        return path.rstrip("/") == self.path.rstrip("/") or path == self.path


@dataclass
class RequestContext:
    """What a route knows about its request: id, caller, microversion, policy."""

    request_id: str
    credentials: Credentials | None
    enforcer: Enforcer | None
    microversion: tuple[int, int] = (0, 0)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def creds(self) -> Credentials:
        if self.credentials is None:
            raise faults.Unauthorized("The request you have made requires authentication.")
        return self.credentials

    @property
    def project_id(self) -> str | None:
        return self.creds.project_id

    @property
    def user_id(self) -> str:
        return self.creds.user_id or ""

    def can(self, rule: str, target: dict[str, Any] | None = None) -> bool:
        assert self.enforcer is not None, "service built without policy"
        return self.enforcer.enforce(rule, target or {}, self.creds)

    def enforce(self, rule: str, target: dict[str, Any] | None = None) -> None:
        """Raise Forbidden unless the caller may do `rule` on `target`."""
        if not self.can(rule, target):
            raise faults.Forbidden(
                f"You are not authorized to perform the requested action: {rule}."
            )


def _context(request: Request) -> RequestContext:
    ctx: RequestContext | None = getattr(request.state, "ctx", None)
    if ctx is None:
        ctx = RequestContext(
            request_id=current_request_id(),
            credentials=request.scope.get("overcast.credentials"),
            enforcer=getattr(request.state, "enforcer", None),
        )
        request.state.ctx = ctx
    return ctx


Ctx = Annotated[RequestContext, Depends(_context)]


class RequestIdMiddleware:
    """Outermost layer: gives every request an id and answers 500 even for a bug."""

    def __init__(self, app: ASGIApp, dialect: Dialect, extra_header: str | None = None):
        self.app = app
        self.dialect = dialect
        self.extra_header = extra_header.lower().encode() if extra_header else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = f"req-{uuid.uuid4()}"
        token = _request_id.set(rid)
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
            body, ctype = faults.render(self.dialect, Fault("An unexpected error occurred."))
            await send_with_id({
                "type": "http.response.start",
                "status": 500,
                "headers": [(b"content-type", ctype.encode()),
                            (b"content-length", str(len(body)).encode())],
            })
            await send({"type": "http.response.body", "body": body})
        finally:
            _request_id.reset(token)


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
        status = 0

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if self.log.isEnabledFor(logging.INFO):
                client = scope.get("client") or ("-", 0)
                # The query string is logged; it never carries a secret in OpenStack APIs.
                qs = scope.get("query_string", b"").decode("latin-1")
                self.log.info(
                    '%s "%s %s%s" %s %.1fms %s', client[0], scope["method"], scope["path"],
                    f"?{qs}" if qs else "", status, (time.perf_counter() - t0) * 1000,
                    current_request_id(),
                )


class AuthMiddleware:
    """Authenticate early: X-Auth-Token → Credentials in the scope, else 401 unless public."""

    def __init__(self, app: ASGIApp, dialect: Dialect, validator: Callable[[], TokenValidator | None],
                 public: Sequence[PublicRoute]):
        self.app = app
        self.dialect = dialect
        self.validator = validator
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = None
        for name, value in scope["headers"]:
            if name == b"x-auth-token":
                token = value.decode("latin-1")
                break
        validator = self.validator()
        public = any(p.matches(scope["method"], scope["path"]) for p in self.public)
        if token and validator is not None:
            try:
                scope["overcast.credentials"] = await validator.validate(token)
            except faults.Unauthorized as e:
                if not public:
                    await self._deny(send, e, validator)
                    return
        elif not public:
            await self._deny(
                send, faults.Unauthorized("The request you have made requires authentication."),
                validator,
            )
            return
        await self.app(scope, receive, send)

    async def _deny(self, send: Send, fault: Fault, validator: TokenValidator | None) -> None:
        # keystonemiddleware answers 401 before the service sees the request: Keystone's body.
        body, ctype = faults.render("identity", fault)
        headers = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())]
        if validator is not None:
            headers.append((b"www-authenticate", f'Keystone uri="{validator.auth_uri()}"'.encode()))
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _fault_response(dialect: Dialect, fault: Fault) -> Response:
    body, ctype = faults.render(dialect, fault)
    return Response(body, status_code=fault.code, media_type=ctype, headers=fault.headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        if err.get("type") == "json_invalid":
            return "Malformed request body: the body is not valid JSON."
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "Invalid input for field/attribute: " + "; ".join(parts)


def build_app(
    *,
    service: str,
    dialect: Dialect,
    routers: Iterable[APIRouter],
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Any]]],
    validator: Callable[[FastAPI], TokenValidator | None],
    public: Sequence[PublicRoute] = (),
    request_id_header: str | None = None,
) -> FastAPI:
    """Assemble a service's ASGI app: the middleware chain, fault renderers and routers.

    `lifespan` yields the service's state (engines, services, enforcer, ...); it reaches every
    request as `request.state`. `validator(app)` returns the token validator once the lifespan
    has run (None: every route is public, e.g. a service with auth switched off in tests).
    """
    app = FastAPI(lifespan=lifespan, openapi_url=f"/openapi-{service}.json", docs_url=None,
                  redoc_url=None)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(Fault)
    async def _on_fault(request: Request, exc: Fault) -> Response:
        return _fault_response(dialect, exc)

    @app.exception_handler(RequestValidationError)
    async def _on_invalid(request: Request, exc: RequestValidationError) -> Response:
        return _fault_response(dialect, faults.BadRequest(_validation_message(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(request: Request, exc: StarletteHTTPException) -> Response:
        cls = {404: faults.NotFound, 405: faults.MethodNotAllowed, 400: faults.BadRequest}.get(
            exc.status_code, Fault)
        fault = cls("The resource could not be found." if exc.status_code == 404 else None)
        if cls is Fault:
            fault.code = exc.status_code
        return _fault_response(dialect, fault)

    def _validator() -> TokenValidator | None:
        return validator(app)

    # The chain, innermost added first so that the list reads outermost last-to-first.
    app.add_middleware(AuthMiddleware, dialect=dialect, validator=_validator, public=list(public))
    app.add_middleware(AccessLogMiddleware, service=service)
    app.add_middleware(RequestIdMiddleware, dialect=dialect, extra_header=request_id_header)
    return app


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or BadRequest; for routes with free-form bodies."""
    raw = await request.body()
    try:
        value = json.loads(raw or b"{}")
    except ValueError as e:
        raise faults.BadRequest("Malformed request body: the body is not valid JSON.") from e
    if not isinstance(value, dict):
        raise faults.BadRequest("Malformed request body: a JSON object is required.")
    return value
