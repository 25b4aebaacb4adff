"""Policy: OpenStack's check language, parsed once into closures and enforced per request.

An operator's `policy.yaml` for Keystone, Nova, Glance or Neutron works unchanged: the rule
names are OpenStack's, and so is the language (facts: `openstack/oslo.policy`,
`oslo_policy/_parser.py` and `_checks.py`):

    @                      always          !                     never
    role:reader            the caller has the role (case-insensitive); `role:%(target.x)s` too
    rule:admin_required    another rule, by name
    project_id:%(project_id)s            a credential equals a value from the target
    token.domain.id:%(target.user.domain_id)s   dotted paths on both sides
    is_admin_project:True  system_scope:all   a credential equals a literal
    'member':%(role.name)s True:%(user.enabled)s   a literal on the left, compared with the target
    field:networks:shared=True   Neutron's field check: the target's attribute equals the
                           value (`=~regex` matches a regular expression instead)
    not A   A and B   A or B   ( ... )     `not` binds tighter than `and`, `and` than `or`

The empty string allows everyone. Words are split on whitespace, so a check never holds a
space; the keywords are case-insensitive.

Where Overcast differs from oslo.policy, it is on the safe side, and at load time:
- A check string that does not parse, an unsupported check kind (`http:`), a `rule:` cycle
  or a policy file in the legacy list-of-lists format is refused when the Enforcer is built
  (`PolicySyntaxError` names the rule and the column), where oslo logs and denies (a
  malformed check) or recurses (a cycle) at request time.
- A value that is None on either side never matches. oslo compares `str(None)`, so a
  project-scoped reader would pass `domain_id:%(target.domain_id)s` against a target whose
  domain is unset ("None" == "None").
- A quoted value on the right (`project_id:'abc'`) is the literal without its quotes; oslo
  compares the quotes too, so such a check never held there.

LIMITATIONS: no `http:`/`https:` remote checks, no custom check kinds, no scope_types
enforcement (as with oslo's `enforce_scope=False`), no deprecated rule aliases.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import NoReturn

import yaml

__all__ = [
    "AccessRule",
    "Credentials",
    "Enforcer",
    "PolicyCycleError",
    "PolicyError",
    "PolicySyntaxError",
    "Rule",
    "UnknownRule",
    "sample_yaml",
]

log = logging.getLogger("overcast.policy")


# ---------------------------------------------------------------------------------------------
# Public data


@dataclass(frozen=True)
class Rule:
    """A default policy rule: Keystone's `DocumentedRuleDefault` shape."""

    name: str
    check_str: str
    description: str = ""
    #: (method, path) pairs, e.g. ("GET", "/v3/users/{user_id}"); documentation only.
    operations: list[tuple[str, str]] = field(default_factory=list)
    #: "system", "domain", "project"; documentation only (scope is not enforced).
    scope_types: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AccessRule:
    """One access rule of an application credential: a service type, method and path pattern."""

    service: str
    method: str
    path: str


@dataclass(frozen=True)
class Credentials:
    """Who is calling, as Keystone's auth context says: identity, scope and effective roles.

    `roles` are role names with implied roles already expanded by the caller; they are stored
    lowercase so that `role:` checks are case-insensitive, as oslo's.
    """

    user_id: str | None = None
    user_domain_id: str | None = None
    project_id: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None
    #: "all" for a system-scoped token, else None.
    system_scope: str | None = None
    roles: frozenset[str] = frozenset()
    is_admin_project: bool = False
    #: Nova's legacy context flag; `is_admin:True` reads it.
    is_admin: bool = False
    token_audit_id: str | None = None
    #: When the token expires (epoch seconds); caches of these credentials must not outlive it.
    expires_at: float | None = None
    #: The application credential the token came from, and whether it is restricted (it may
    #: then not create or delete application credentials, trusts or credentials).
    app_cred_id: str | None = None
    app_cred_restricted: bool = False
    #: The application credential's access rules: None means no rules (anything its roles
    #: allow); otherwise only matching requests are let through (common/auth.py).
    access_rules: tuple[AccessRule, ...] | None = None
    trust_id: str | None = None
    service_user_id: str | None = None
    service_user_domain_id: str | None = None
    service_project_id: str | None = None
    service_project_domain_id: str | None = None
    service_roles: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # Callers may hand in any iterable with any case; checks rely on a lowercase frozenset.
        object.__setattr__(self, "roles", frozenset(r.lower() for r in self.roles))
        object.__setattr__(self, "service_roles", frozenset(r.lower() for r in self.service_roles))

    def to_policy_values(self) -> dict[str, object]:
        """The dict generic checks read (`KEY:VALUE` looks KEY up here): oslo.context's keys.

        Besides oslo.context's `to_policy_values()` keys it holds `is_admin` and a `token`
        dict shaped like Keystone's token body, which current Keystone defaults read
        (`token.domain.id:%(target.user.domain_id)s`, `token.project.domain.id:...`).
        """
        return dict(self._values)

    @cached_property
    def _values(self) -> dict[str, object]:
        # Built once per Credentials (one per request) and read by every generic check.
        token: dict[str, object] = {
            "user": {"id": self.user_id, "domain": {"id": self.user_domain_id}},
            "is_admin_project": self.is_admin_project,
            "audit_ids": [self.token_audit_id] if self.token_audit_id else [],
        }
        if self.project_id is not None:
            token["project"] = {"id": self.project_id, "domain": {"id": self.project_domain_id}}
        if self.domain_id is not None:
            token["domain"] = {"id": self.domain_id}
        if self.system_scope is not None:
            token["system"] = {self.system_scope: True}
        return {
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "project_id": self.project_id,
            "project_domain_id": self.project_domain_id,
            "domain_id": self.domain_id,
            "system_scope": self.system_scope,
            "roles": sorted(self.roles),
            "is_admin_project": self.is_admin_project,
            "is_admin": self.is_admin,
            "service_user_id": self.service_user_id,
            "service_user_domain_id": self.service_user_domain_id,
            "service_project_id": self.service_project_id,
            "service_project_domain_id": self.service_project_domain_id,
            "service_roles": sorted(self.service_roles),
            "token": token,
        }


class PolicyError(Exception):
    """The policy cannot be loaded: a bad policy file, check string or rule graph."""


class PolicySyntaxError(PolicyError):
    """A check string does not parse; names the rule and the 1-based column."""

    def __init__(self, rule: str, check_str: str, position: int, reason: str) -> None:
        self.rule = rule
        self.check_str = check_str
        self.column = position + 1
        self.reason = reason
        super().__init__(f"policy rule {rule!r}: {reason} at column {self.column}: {check_str!r}")


class PolicyCycleError(PolicyError):
    """`rule:` references form a loop; `cycle` lists the names, first repeated last."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__("policy rules reference each other in a loop: " + " -> ".join(cycle))


class UnknownRule(KeyError):
    """`enforce` was asked for a rule the service does not define: a programming error."""

    def __str__(self) -> str:
        return f"no default policy rule named {self.args[0]!r}; add it to the service's RULES"


# ---------------------------------------------------------------------------------------------
# Checks: closures over (target, credentials)

_Target = Mapping[str, object]
_Check = Callable[[_Target, Credentials], bool]
#: A compiled `%(path)s` value: text, or None when the target lacks it.
_Template = Callable[[_Target], str | None]

_MISSING = object()


def _always(target: _Target, creds: Credentials) -> bool:
    return True


def _never(target: _Target, creds: Credentials) -> bool:
    return False


def _text(value: object) -> str | None:
    """The text a value compares as (oslo compares `str(value)`); None matches nothing."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _target_lookup(raw: str) -> Callable[[_Target], object]:
    """Compile `%(raw)s`: a flat key first (Keystone flattens targets), else a dotted walk.

    A leading `target.` is optional: routes pass the target itself, so
    `%(target.user.domain_id)s` and `%(user.domain_id)s` both reach target["user"]["domain_id"].
    """
    full = tuple(raw.split("."))
    bare = full[1:] if full[0] == "target" and len(full) > 1 else None

    def lookup(target: _Target) -> object:
        value = target.get(raw, _MISSING)
        if value is not _MISSING:
            return value
        node: object = target
        for key in bare if bare is not None and "target" not in target else full:
            if not isinstance(node, Mapping):
                return _MISSING
            node = node.get(key, _MISSING)
            if node is _MISSING:
                return _MISSING
        return node

    return lookup


_PERCENT = re.compile(r"%\((?P<key>[^()]*)\)s|%%|%")


def _template(value: str, fail: Callable[[int, str], NoReturn]) -> str | _Template:
    """Compile a check's right side: constant text, or a function of the target."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    if "%" not in value:
        return value
    parts: list[str | Callable[[_Target], object]] = []
    last = 0
    for m in _PERCENT.finditer(value):
        if m.start() > last:
            parts.append(value[last:m.start()])
        token = m.group(0)
        if token == "%%":
            parts.append("%")
        elif token == "%":
            fail(m.start(), "only %(name)s substitutions are supported")
        else:
            key = m.group("key")
            if not key or "" in key.split("."):
                fail(m.start(), f"empty target path in {token!r}")
            parts.append(_target_lookup(key))
        last = m.end()
    if last < len(value):
        parts.append(value[last:])
    if len(parts) == 1 and callable(parts[0]):
        lookup = parts[0]

        def single(target: _Target) -> str | None:
            found = lookup(target)
            return None if found is _MISSING else _text(found)

        return single

    frozen = tuple(parts)

    def joined(target: _Target) -> str | None:
        out = []
        for part in frozen:
            if isinstance(part, str):
                out.append(part)
                continue
            found = part(target)
            text = None if found is _MISSING else _text(found)
            if text is None:
                return None
            out.append(text)
        return "".join(out)

    return joined


def _creds_match(node: object, path: tuple[str, ...], match: str) -> bool:
    """oslo's `_find_in_dict`: walk `path` in the credentials; a list matches if any item does."""
    for i, key in enumerate(path):
        if not isinstance(node, Mapping):
            return False
        node = node.get(key)
        if isinstance(node, list):
            rest = path[i + 1:]
            return any(_creds_match(item, rest, match) for item in node)
    return _text(node) == match


def _role_check(tmpl: str | _Template) -> _Check:
    if isinstance(tmpl, str):
        role = tmpl.lower()
        return lambda target, creds: role in creds.roles

    def check(target: _Target, creds: Credentials) -> bool:
        role = tmpl(target)
        return role is not None and role.lower() in creds.roles

    return check


def _literal(kind: str) -> tuple[bool, object]:
    """Whether the left side is a Python literal (`True`, `'member'`, `1`), and its value."""
    try:
        return True, ast.literal_eval(kind)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


def _generic_check(kind: str, tmpl: str | _Template, fail: Callable[[int, str], NoReturn]) -> _Check:
    is_literal, value = _literal(kind)
    if is_literal:
        expected = _text(value)
        if isinstance(tmpl, str):
            return _always if tmpl == expected else _never
        return lambda target, creds: expected is not None and tmpl(target) == expected
    path = tuple(kind.split("."))
    if "" in path:
        fail(0, f"empty credential key in {kind!r}")
    if isinstance(tmpl, str):
        if len(path) == 1:
            key = path[0]

            def flat(target: _Target, creds: Credentials) -> bool:
                found = creds._values.get(key)
                if isinstance(found, list):
                    return tmpl in (_text(item) for item in found)
                return _text(found) == tmpl

            return flat
        return lambda target, creds: _creds_match(creds._values, path, tmpl)

    def substituted(target: _Target, creds: Credentials) -> bool:
        match = tmpl(target)
        return match is not None and _creds_match(creds._values, path, match)

    return substituted


def _field_check(value: str, fail: Callable[[int, str], NoReturn]) -> _Check:
    """Neutron's `field:RESOURCE:ATTRIBUTE=VALUE` (neutron/policy.py FieldCheck): the target's
    ATTRIBUTE compares equal as text to VALUE, or matches it as a regex when VALUE starts with
    `~`. The resource names what the attribute belongs to; targets here are flat."""
    _resource, colon, rest = value.partition(":")
    attribute, equals, expected = rest.rpartition("=")
    if not colon or not equals or not attribute:
        fail(0, "expected field:RESOURCE:ATTRIBUTE=VALUE")
    if expected.startswith("~"):
        pattern = re.compile(expected[1:])

        def matches(target: _Target, creds: Credentials) -> bool:
            found = _text(target.get(attribute))
            return found is not None and pattern.match(found) is not None

        return matches
    if expected.lower() in ("true", "false"):
        expected = expected.capitalize()  # Neutron converts both sides to the attribute's type

    def equal(target: _Target, creds: Credentials) -> bool:
        return _text(target.get(attribute)) == expected

    return equal


def _not(a: _Check) -> _Check:
    return lambda target, creds: not a(target, creds)


def _and(checks: list[_Check]) -> _Check:
    if len(checks) == 2:
        a, b = checks
        return lambda target, creds: a(target, creds) and b(target, creds)
    frozen = tuple(checks)

    def check(target: _Target, creds: Credentials) -> bool:
        for c in frozen:
            if not c(target, creds):
                return False
        return True

    return check


def _or(checks: list[_Check]) -> _Check:
    if len(checks) == 2:
        a, b = checks
        return lambda target, creds: a(target, creds) or b(target, creds)
    frozen = tuple(checks)

    def check(target: _Target, creds: Credentials) -> bool:
        for c in frozen:
            if c(target, creds):
                return True
        return False

    return check


# ---------------------------------------------------------------------------------------------
# Parser: check string -> tree whose leaves are closures, `rule:` references left to link


@dataclass(frozen=True)
class _Leaf:
    check: _Check


@dataclass(frozen=True)
class _Ref:
    name: str


@dataclass(frozen=True)
class _Not:
    operand: _Node


@dataclass(frozen=True)
class _And:
    operands: list[_Node]


@dataclass(frozen=True)
class _Or:
    operands: list[_Node]


_Node = _Leaf | _Ref | _Not | _And | _Or

_KEYWORDS = frozenset({"and", "or", "not"})


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "and", "or", "not", "check", "end"
    text: str
    pos: int


def _tokenize(check_str: str) -> list[_Token]:
    """Split as oslo does: on whitespace, then peel leading "(" and trailing ")" off each word.

    Parentheses inside a word stay in it, so `%(project_id)s` needs no escaping.
    """
    tokens: list[_Token] = []
    for m in re.finditer(r"\S+", check_str):
        word, pos = m.group(0), m.start()
        core = word.lstrip("(")
        for i in range(len(word) - len(core)):
            tokens.append(_Token("(", "(", pos + i))
        pos += len(word) - len(core)
        bare = core.rstrip(")")
        if bare:
            lowered = bare.lower()
            tokens.append(_Token(lowered if lowered in _KEYWORDS else "check", bare, pos))
        for i in range(len(core) - len(bare)):
            tokens.append(_Token(")", ")", pos + len(bare) + i))
    tokens.append(_Token("end", "", len(check_str)))
    return tokens


class _Parser:
    """Recursive descent with oslo's precedence: `not` > `and` > `or`, all left to right."""

    def __init__(self, rule: str, check_str: str) -> None:
        self.rule = rule
        self.check_str = check_str
        self.tokens = _tokenize(check_str)
        self.i = 0
        self.refs: list[str] = []

    def fail(self, pos: int, reason: str) -> NoReturn:
        raise PolicySyntaxError(self.rule, self.check_str, pos, reason)

    def parse(self) -> _Node:
        node = self.or_expr()
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.fail(tok.pos, f"unexpected {tok.text!r}")
        return node

    def or_expr(self) -> _Node:
        operands = [self.and_expr()]
        while self.tokens[self.i].kind == "or":
            self.i += 1
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else _Or(operands)

    def and_expr(self) -> _Node:
        operands = [self.not_expr()]
        while self.tokens[self.i].kind == "and":
            self.i += 1
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else _And(operands)

    def not_expr(self) -> _Node:
        if self.tokens[self.i].kind == "not":
            self.i += 1
            return _Not(self.not_expr())
        return self.atom()

    def atom(self) -> _Node:
        tok = self.tokens[self.i]
        self.i += 1
        if tok.kind == "(":
            node = self.or_expr()
            close = self.tokens[self.i]
            if close.kind != ")":
                self.fail(close.pos, f"expected ')' to close the '(' at column {tok.pos + 1}")
            self.i += 1
            return node
        if tok.kind == "check":
            return self.check(tok)
        if tok.kind == "end":
            self.fail(tok.pos, "expected a check, found the end")
        self.fail(tok.pos, f"expected a check, found {tok.text!r}")

    def check(self, tok: _Token) -> _Node:
        text, pos = tok.text, tok.pos
        if text == "@":
            return _Leaf(_always)
        if text == "!":
            return _Leaf(_never)
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            self.fail(pos, f"a quoted string {text} is not a check")
        kind, colon, value = text.partition(":")
        if not colon or not kind:
            self.fail(pos, f"expected KIND:VALUE, '@' or '!', found {text!r}")
        if not value:
            self.fail(pos, f"{kind}: needs a value")
        value_pos = pos + len(kind) + 1

        def fail(offset: int, reason: str) -> NoReturn:
            raise PolicySyntaxError(self.rule, self.check_str, value_pos + offset, reason)

        if kind == "rule":
            self.refs.append(value)
            return _Ref(value)
        if kind in ("http", "https"):
            self.fail(pos, f"{kind}: remote checks are not supported")
        tmpl = _template(value, fail)
        if kind == "role":
            return _Leaf(_role_check(tmpl))
        if kind == "field":
            return _Leaf(_field_check(value, fail))

        def fail_kind(offset: int, reason: str) -> NoReturn:
            raise PolicySyntaxError(self.rule, self.check_str, pos + offset, reason)

        return _Leaf(_generic_check(kind, tmpl, fail_kind))


def _parse(rule: str, check_str: str) -> tuple[_Node, list[str]]:
    """Parse one rule's check string; returns the tree and the rule names it references."""
    if check_str == "":
        return _Leaf(_always), []
    parser = _Parser(rule, check_str)
    return parser.parse(), parser.refs


# ---------------------------------------------------------------------------------------------
# Enforcer


def _load_file(path: Path) -> dict[str, str]:
    """Read a policy file: a YAML (or JSON) mapping of rule name to check string."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError(f"policy file {path}: cannot read it: {e.strerror}") from e
    is_json = path.suffix == ".json"
    try:
        data = json.loads(text) if is_json else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        raise PolicyError(f"policy file {path}: not valid {'JSON' if is_json else 'YAML'}: {e}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PolicyError(f"policy file {path}: expected a mapping of rule name to check string")
    for name, check in data.items():
        if not isinstance(name, str):
            raise PolicyError(f"policy file {path}: rule name {name!r} is not a string")
        if not isinstance(check, str):
            # oslo's legacy list-of-lists format (and a forgotten value) land here.
            raise PolicyError(f"policy file {path}: rule {name!r} must be a check string, "
                              f"not {type(check).__name__}")
    return data


class Enforcer:
    """A service's policy: its default rules, an operator's overrides, compiled once.

    Built at startup; a bad policy file raises `PolicyError` here, never at request time.
    """

    def __init__(self, defaults: Iterable[Rule], policy_file: Path | None = None) -> None:
        rules: dict[str, Rule] = {}
        for rule in defaults:
            if rule.name in rules:
                raise PolicyError(f"default policy rule {rule.name!r} is defined twice")
            rules[rule.name] = rule
        self.rules: Mapping[str, Rule] = MappingProxyType(rules)
        check_strs = {name: rule.check_str for name, rule in rules.items()}
        if policy_file is not None:
            for name, check in _load_file(policy_file).items():
                if name not in rules:
                    log.warning("policy file %s: %r is not a rule of this service; kept for rule: "
                                "references only", policy_file, name)
                check_strs[name] = check
        #: The check string in force for every rule, defaults and file alike.
        self.check_strs: Mapping[str, str] = MappingProxyType(check_strs)
        compiled = self._compile(check_strs)
        # Only defaults are enforceable: a typo in a route's rule name must fail in every
        # deployment, not only in those whose policy file happens to lack that name.
        self._checks: dict[str, _Check] = {name: compiled[name] for name in rules}

    @staticmethod
    def _compile(check_strs: Mapping[str, str]) -> dict[str, _Check]:
        parsed = {name: _parse(name, check) for name, check in check_strs.items()}
        compiled: dict[str, _Check] = {}
        missing: set[str] = set()

        def link(node: _Node) -> _Check:
            if isinstance(node, _Leaf):
                return node.check
            if isinstance(node, _Ref):
                # Referenced rules are compiled first (post-order below), so this binds the
                # closure itself: no name lookup at request time.
                found = compiled.get(node.name)
                return _never if found is None else found
            if isinstance(node, _Not):
                return _not(link(node.operand))
            if isinstance(node, _And):
                return _and([link(n) for n in node.operands])
            return _or([link(n) for n in node.operands])

        # Depth-first over rule: references; "grey" rules are on the current path, so meeting
        # one again is a cycle. Iterative, so a long chain cannot exhaust the stack.
        state: dict[str, str] = {}
        for root in parsed:
            if root in state:
                continue
            path: list[str] = [root]
            pending: list[list[str]] = [list(parsed[root][1])]
            state[root] = "grey"
            while path:
                if pending[-1]:
                    ref = pending[-1].pop(0)
                    if ref not in parsed:
                        if ref not in missing:
                            missing.add(ref)
                            log.warning("policy rule %r references undefined rule %r; that "
                                        "reference never matches", path[-1], ref)
                        continue
                    if state.get(ref) == "grey":
                        raise PolicyCycleError([*path[path.index(ref):], ref])
                    if ref not in state:
                        state[ref] = "grey"
                        path.append(ref)
                        pending.append(list(parsed[ref][1]))
                    continue
                done = path.pop()
                pending.pop()
                state[done] = "black"
                compiled[done] = link(parsed[done][0])
        return compiled

    def enforce(self, rule: str, target: Mapping[str, object], creds: Credentials) -> bool:
        """Whether `creds` may do `rule` on `target`; raises UnknownRule for an undefined rule."""
        check = self._checks.get(rule)
        if check is None:
            raise UnknownRule(rule)
        return check(target, creds)


# ---------------------------------------------------------------------------------------------
# Sample file


def sample_yaml(rules: Iterable[Rule]) -> str:
    """The defaults as a commented policy.yaml: what `overcast policy sample SERVICE` prints.

    Each rule is a `"name": "check"` line (JSON strings are valid YAML scalars), preceded by its
    description, scope types and operations as comments, as oslopolicy-sample-generator does.
    """
    blocks: list[str] = []
    for rule in rules:
        lines = [f"# {line}".rstrip() for line in rule.description.splitlines()]
        if rule.scope_types:
            lines.append(f"# Intended scope(s): {', '.join(rule.scope_types)}")
        lines.extend(f"# {method} {path}" for method, path in rule.operations)
        lines.append(f"{json.dumps(rule.name)}: {json.dumps(rule.check_str)}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)
