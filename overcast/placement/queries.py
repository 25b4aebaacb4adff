"""The query grammar of GET /resource_providers and GET /allocation_candidates, parsed once
into typed requests (pure: no database; names are checked against it later).

    resources=VCPU:2,MEMORY_MB:1024            amounts one provider (or tree) must serve
    required=T1,!T2&required=in:T3,T4          T1 and not T2 and (T3 or T4)   (! 1.22, in: 1.39)
    member_of=in:A1,A2&member_of=A3&member_of=!A4   (A1 or A2) and A3 and not A4 (1.24, ! 1.32)
    resources1=...&required1=...&member_of1=...&in_tree1=...   granular groups (1.25, names 1.33)
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from overcast.common import faults
from overcast.placement.errors import QueryBadValue

__all__ = [
    "AggregateQuery",
    "GroupRequest",
    "TraitQuery",
    "parse_candidates_groups",
    "parse_member_of",
    "parse_required",
    "parse_resources",
    "parse_uuid",
]

Version = tuple[int, int]


@dataclass
class TraitQuery:
    """Each set in `all_of` needs one of its traits; none of `forbidden` may be there."""

    all_of: list[frozenset[str]] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)

    def names(self) -> set[str]:
        return {t for s in self.all_of for t in s} | self.forbidden

    def matches(self, traits: set[str] | frozenset[str]) -> bool:
        return (all(not s.isdisjoint(traits) for s in self.all_of)
                and self.forbidden.isdisjoint(traits))

    def __bool__(self) -> bool:
        return bool(self.all_of or self.forbidden)


@dataclass
class AggregateQuery:
    """Each set in `all_of` needs one of its aggregates; none of `forbidden` may be there."""

    all_of: list[frozenset[str]] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)

    def matches(self, aggregates: set[str] | frozenset[str]) -> bool:
        return (all(not s.isdisjoint(aggregates) for s in self.all_of)
                and self.forbidden.isdisjoint(aggregates))

    def __bool__(self) -> bool:
        return bool(self.all_of or self.forbidden)


@dataclass
class GroupRequest:
    """One request group of GET /allocation_candidates: "" is the unnumbered group."""

    suffix: str
    resources: dict[str, int] = field(default_factory=dict)
    required: TraitQuery = field(default_factory=TraitQuery)
    member_of: AggregateQuery = field(default_factory=AggregateQuery)
    in_tree: str | None = None


def parse_uuid(raw: str, name: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise QueryBadValue(f"Invalid query string parameters: Expected '{name}' parameter to "
                            f"be a valid UUID. Got: {raw}") from None


def parse_resources(raw: str, name: str = "resources") -> dict[str, int]:
    """`VCPU:2,MEMORY_MB:1024` → {"VCPU": 2, "MEMORY_MB": 1024}; amounts are positive."""
    result: dict[str, int] = {}
    for item in raw.split(","):
        rc, sep, amount = item.strip().partition(":")
        if not sep or not rc.strip() or not amount.strip():
            raise faults.BadRequest(
                f"Badly formed {name} parameter. Expected {name} query string parameter in "
                f"form: ?{name}=VCPU:2,MEMORY_MB:1024. Got: {raw}.")
        try:
            value = int(amount)
        except ValueError:
            value = 0
        if value < 1:
            raise faults.BadRequest(f"Requested resource {rc.strip()} expected positive integer "
                                    f"amount. Got: {amount}.")
        if rc.strip() in result:
            raise faults.BadRequest(f"Invalid {name} parameter: {rc.strip()} is named twice.")
        result[rc.strip()] = value
    return result


def parse_required(values: Sequence[str], mv: Version, name: str = "required") -> TraitQuery:
    """The `required` parameters (repeatable and `in:` from 1.39, `!` from 1.22)."""
    if len(values) > 1 and mv < (1, 39):
        raise faults.BadRequest(f"Only one '{name}' parameter is allowed before "
                                f"microversion 1.39.")
    query = TraitQuery()
    for raw in values:
        text = raw.strip()
        if mv >= (1, 39) and text.startswith("in:"):
            names = [t.strip() for t in text[3:].split(",")]
            if not all(names) or any(t.startswith("!") for t in names):
                raise faults.BadRequest(
                    f"Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,"
                    f"CUSTOM_MAGIC' only supports mixing traits, not forbidden traits. "
                    f"Got: {raw}")
            query.all_of.append(frozenset(names))
            continue
        names = [t.strip() for t in text.split(",")]
        if not all(names):
            raise faults.BadRequest(
                f"Invalid query string parameters: Expected '{name}' parameter value of the "
                f"form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {raw}")
        for trait in names:
            if trait.startswith("!") and mv >= (1, 22):
                if not trait[1:]:
                    raise faults.BadRequest(f"Invalid query string parameters: '{name}' names "
                                            f"an empty forbidden trait. Got: {raw}")
                query.forbidden.add(trait[1:])
            else:
                query.all_of.append(frozenset({trait}))
    both = {t for s in query.all_of if len(s) == 1 for t in s} & query.forbidden
    if both:
        raise faults.BadRequest(
            f"Invalid query string parameters: Conflicting required and forbidden traits "
            f"found in the following traits keys: {name}: ({', '.join(sorted(both))})")
    return query


def parse_member_of(values: Sequence[str], mv: Version, name: str = "member_of"
                    ) -> AggregateQuery:
    """The `member_of` parameters (repeatable from 1.24, `!` forbidden from 1.32)."""
    if len(values) > 1 and mv < (1, 24):
        raise faults.BadRequest(f"Only one '{name}' parameter is allowed before "
                                f"microversion 1.24.")
    query = AggregateQuery()
    for raw in values:
        text = raw.strip()
        forbidden = False
        if text.startswith("!") and mv >= (1, 32):
            forbidden, text = True, text[1:]
        multi = text.startswith("in:")
        if multi:
            text = text[3:]
        items = [a.strip() for a in text.split(",")]
        if (not multi and len(items) > 1) or any(a.startswith("!") for a in items):
            raise faults.BadRequest(
                f"Invalid query string parameters: Expected '{name}' parameter to contain "
                f"valid UUID(s). Got: {raw}" if not any(a.startswith("!") for a in items) else
                f"Invalid query string parameters: Forbidden aggregates must be named with "
                f"'!' before 'in:', not inside it. Got: {raw}")
        aggs = []
        for a in items:
            try:
                aggs.append(str(uuid.UUID(a)))
            except ValueError:
                raise faults.BadRequest(f"Invalid query string parameters: Expected '{name}' "
                                        f"parameter to contain valid UUID(s). Got: {raw}"
                                        ) from None
        if forbidden:
            query.forbidden.update(aggs)
        else:
            query.all_of.append(frozenset(aggs))
    return query


_GROUP_KEY = re.compile(r"^(resources|required|member_of|in_tree)([a-zA-Z0-9_-]{1,64})?$")


def parse_candidates_groups(params: Mapping[str, list[str]], mv: Version
                            ) -> dict[str, GroupRequest]:
    """The request groups of GET /allocation_candidates; "" is the unnumbered group."""
    groups: dict[str, GroupRequest] = {}
    seen_required: dict[str, list[str]] = {}
    seen_member_of: dict[str, list[str]] = {}
    for key, values in params.items():
        m = _GROUP_KEY.match(key)
        if m is None:
            continue
        kind, suffix = m.group(1), m.group(2) or ""
        if suffix:
            if mv < (1, 25):
                continue  # an unknown parameter before granular groups: refused by the caller
            if mv < (1, 33) and not suffix.isdigit():
                raise faults.BadRequest(f"Invalid query string parameters: '{key}' is not a "
                                        f"valid request group suffix before microversion 1.33.")
            if mv >= (1, 33) and not (suffix.isdigit() or suffix.startswith(("_", "-"))
                                      or suffix[0].isalnum()):
                raise faults.BadRequest(f"Invalid query string parameters: bad suffix in {key}")
        group = groups.setdefault(suffix, GroupRequest(suffix))
        if kind == "resources":
            if len(values) > 1:
                from overcast.placement.errors import DuplicateQueryKey

                raise DuplicateQueryKey(f"Query parameter '{key}' may be specified only once.")
            group.resources = parse_resources(values[0], key)
        elif kind == "required":
            seen_required[suffix] = list(values)
        elif kind == "member_of":
            seen_member_of[suffix] = list(values)
        elif kind == "in_tree":
            if mv < (1, 31):
                continue
            group.in_tree = parse_uuid(values[-1], key)
    for suffix, values in seen_required.items():
        groups[suffix].required = parse_required(values, mv, f"required{suffix}")
    for suffix, values in seen_member_of.items():
        if mv < (1, 21):
            continue
        groups[suffix].member_of = parse_member_of(values, mv, f"member_of{suffix}")
    for suffix, group in groups.items():
        if suffix and not group.resources and mv < (1, 36):
            raise faults.BadRequest(
                f"Invalid query string parameters: All request groups must have resources. "
                f"'resources{suffix}' is missing.")
    return groups
