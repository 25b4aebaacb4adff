"""What every service's routes share: policy declarations, query booleans, paging, service wiring.

    @router.get("/{user_id}", **policy("identity:get_user"))
    async def show_user(user_id: str, ctx: Ctx, users: Users) -> UserView: ...

- `policy(rule, *also)`: the route's rule (and any attribute rules its domain code may also
  check, e.g. Glance's `publicize_image` beside `add_image`). It lands in the OpenAPI document
  as `x-openstack-policy` and in the request context, which refuses undeclared rules.
- `query_bool`: one parser for boolean query parameters; each API's documented semantics are
  parameters (what an empty value means, whether unknown words are an error).
- `Page`/`paging`/`next_link`: `?limit=`/`?marker=` parsed once, `next` links built once;
  `truncate` is Keystone's `list_limit` (a cut list says `truncated`).
- `state(key, kind)`: a typed dependency for an object the service's lifespan made.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request

from overcast.common import faults

__all__ = [
    "POLICY_KEY",
    "Page",
    "declared_rules",
    "lifespan_state",
    "next_link",
    "paging",
    "policy",
    "query_bool",
    "state",
    "truncate",
]

T = TypeVar("T")

#: The OpenAPI extension that holds a route's declared policy rules.
POLICY_KEY = "x-openstack-policy"

# oslo.utils strutils.bool_from_string's words, which every OpenStack API parses with.
_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})


def policy(rule: str, *also: str) -> dict[str, Any]:
    """Route decorator arguments declaring the policy rule the route enforces (first), and the
    attribute rules its domain code may check besides it."""
    return {"openapi_extra": {POLICY_KEY: [rule, *also]}}


def declared_rules(route: object) -> frozenset[str] | None:
    """The rules a matched route declares, or None when it declares none."""
    extra = getattr(route, "openapi_extra", None) or {}
    rules = extra.get(POLICY_KEY)
    return None if rules is None else frozenset(rules)


def query_bool(raw: str | None, name: str, *, empty: bool | None = None,
               strict: bool = True) -> bool | None:
    """A boolean query parameter (or header) as OpenStack reads it; None when absent.

    `empty`: what `?name=` means (Keystone: true); None makes it an error.
    `strict=False`: any word that is not a true word is false (oslo's non-strict mode).
    """
    if raw is None:
        return None
    low = raw.strip().lower()
    if low == "" and empty is not None:
        return empty
    if low in _TRUE:
        return True
    if low in _FALSE or not strict:
        return False
    raise faults.BadRequest(f"Invalid value {raw!r} for {name}: use true or false.")


@dataclass(frozen=True)
class Page:
    """A list request's page: at most `limit` items after the item `marker`."""

    limit: int
    marker: str | None = None


def paging(limits: Callable[[Request], tuple[int, int]]) -> Callable[[Request], Awaitable[Page]]:
    """A dependency that parses `?limit=` and `?marker=`; `limits(request)` gives the service's
    (default page size, largest page size)."""

    async def dependency(request: Request) -> Page:
        default, maximum = limits(request)
        raw = request.query_params.get("limit")
        if raw is None:
            limit = default
        else:
            try:
                limit = int(raw)
            except ValueError:
                raise faults.BadRequest("limit param must be an integer") from None
            if limit < 0:
                raise faults.BadRequest("limit param must be positive")
        marker = request.query_params.get("marker")
        return Page(limit=min(limit, maximum), marker=marker or None)

    return dependency


def next_link(request: Request, page: Page, last_id: str, *, path: str | None = None) -> str:
    """The URL path of the page after `last_id`: the same query with a new marker (and the
    limit made explicit, so the next page has the same size)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    params.append(("marker", last_id))
    if "limit" not in request.query_params:
        params.append(("limit", str(page.limit)))
    return f"{path or request.url.path}?{urlencode(params)}"


def truncate(items: Sequence[T], list_limit: int) -> tuple[list[T], bool]:
    """Keystone's `list_limit`: at most that many items (0: no cap), and whether any were cut.

    Callers fetch `list_limit + 1` rows so that "cut" is known without a count."""
    if list_limit and len(items) > list_limit:
        return list(items[:list_limit]), True
    return list(items), False


def lifespan_state(request: Request, key: str, kind: type[T]) -> T:
    """What the lifespan stored under `key`, checked to be a `kind`."""
    value = getattr(request.state, key, None)
    if not isinstance(value, kind):
        raise RuntimeError(f"lifespan state {key!r} is not a {kind.__name__}")
    return value


def state(key: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency returning what the lifespan stored under `key`, checked to be a `kind`.
    (Dependencies are coroutines: FastAPI runs a plain function in a worker thread, a thread
    hop per request for a dictionary lookup.)"""

    async def dependency(request: Request) -> T:
        return lifespan_state(request, key, kind)

    dependency.__name__ = f"state_{key}"
    return dependency
