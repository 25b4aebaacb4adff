"""The policy engine: OpenStack's check language, Keystone's defaults, policy files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from overcast.common.policy import (
    Credentials,
    Enforcer,
    PolicyCycleError,
    PolicyError,
    PolicySyntaxError,
    Rule,
    UnknownRule,
    sample_yaml,
)

# ---------------------------------------------------------------------------------------------
# Personas: what Keystone's auth context holds for each (implied roles already expanded:
# admin implies member implies reader, as Keystone's bootstrap creates them).

ADMIN_ROLES = frozenset({"admin", "member", "reader"})
MEMBER_ROLES = frozenset({"member", "reader"})

SYSTEM_ADMIN = Credentials(user_id="sa", user_domain_id="default", system_scope="all",
                           roles=ADMIN_ROLES)
SYSTEM_READER = Credentials(user_id="sr", user_domain_id="default", system_scope="all",
                            roles=frozenset({"reader"}))
PROJECT_ADMIN = Credentials(user_id="pa", user_domain_id="d1", project_id="p1",
                            project_domain_id="d1", roles=ADMIN_ROLES)
MEMBER = Credentials(user_id="m", user_domain_id="d1", project_id="p1", project_domain_id="d1",
                     roles=MEMBER_ROLES)
READER = Credentials(user_id="r", user_domain_id="d1", project_id="p1", project_domain_id="d1",
                     roles=frozenset({"reader"}))
OTHER_PROJECT = Credentials(user_id="o", user_domain_id="d2", project_id="p2",
                            project_domain_id="d2", roles=MEMBER_ROLES)
DOMAIN_READER = Credentials(user_id="dr", user_domain_id="d1", domain_id="d1",
                            roles=frozenset({"reader"}))
DOMAIN_MANAGER = Credentials(user_id="dm", user_domain_id="d1", domain_id="d1",
                             roles=frozenset({"manager", "member", "reader"}))
NOBODY = Credentials(user_id="n", user_domain_id="d1")

PERSONAS = {
    "system_admin": SYSTEM_ADMIN, "system_reader": SYSTEM_READER, "project_admin": PROJECT_ADMIN,
    "member": MEMBER, "reader": READER, "other_project": OTHER_PROJECT,
    "domain_reader": DOMAIN_READER, "domain_manager": DOMAIN_MANAGER, "nobody": NOBODY,
}


def check(check_str: str, target: dict[str, object] | None = None,
          creds: Credentials = MEMBER, extra: list[Rule] | None = None) -> bool:
    """Evaluate one check string as the rule "r"."""
    enforcer = Enforcer([Rule("r", check_str), *(extra or [])])
    return enforcer.enforce("r", target or {}, creds)


# ---------------------------------------------------------------------------------------------
# The language


@pytest.mark.parametrize(("check_str", "expected"), [
    ("", True),
    ("@", True),
    ("!", False),
    ("not @", False),
    ("not !", True),
    ("not not @", True),
    # and binds tighter than or: "@ or (! and !)", not "(@ or !) and !"
    ("@ or ! and !", True),
    ("! and ! or @", True),
    ("! and @ or ! and @", False),
    ("(@ or !) and !", False),
    # not binds tighter than and: "(not !) and @", "(not @) or @"
    ("not ! and @", True),
    ("not @ or @", True),
    ("not (@ or @)", False),
    ("not (! and @) and not !", True),
    ("@ and @ and @ and !", False),
    ("! or ! or ! or @", True),
    # nested and glued parentheses, as oslo's tokenizer peels them off words
    ("((@))", True),
    ("((! or (@ and (not !))))", True),
    ("( not @ )", False),
    ("(@) and (!)", False),
    # keywords are case-insensitive, whitespace is any whitespace
    ("! OR @", True),
    ("@ AND Not @", False),
    ("  @\tand\n@  ", True),
])
def test_operators_and_precedence(check_str: str, expected: bool) -> None:
    assert check(check_str) is expected


@pytest.mark.parametrize(("check_str", "target", "creds", "expected"), [
    # role: case-insensitive on both sides
    ("role:member", {}, MEMBER, True),
    ("role:MEMBER", {}, MEMBER, True),
    ("role:admin", {}, MEMBER, False),
    ("role:member", {}, Credentials(roles=frozenset({"Member"})), True),
    ("role:%(target.role.name)s", {"role": {"name": "Reader"}}, READER, True),
    ("role:%(target.role.name)s", {"role": {"name": "admin"}}, READER, False),
    ("role:%(target.role.name)s", {}, READER, False),
    # credential key against the target: flat, dotted, with and without the "target." prefix
    ("project_id:%(project_id)s", {"project_id": "p1"}, MEMBER, True),
    ("project_id:%(project_id)s", {"project_id": "p2"}, MEMBER, False),
    ("project_id:%(project_id)s", {}, MEMBER, False),
    ("user_id:%(target.token.user_id)s", {"token": {"user_id": "m"}}, MEMBER, True),
    ("user_id:%(target.token.user_id)s", {"target": {"token": {"user_id": "m"}}}, MEMBER, True),
    ("user_id:%(target.token.user_id)s", {"target.token.user_id": "m"}, MEMBER, True),
    ("user_id:%(target.token.user_id)s", {"token": {"user_id": "x"}}, MEMBER, False),
    ("domain_id:%(target.user.domain_id)s", {"user": {"domain_id": "d1"}}, DOMAIN_READER, True),
    ("domain_id:%(target.user.domain_id)s", {"user": "d1"}, DOMAIN_READER, False),
    ("project_id:p-%(target.id)s", {"id": "1"}, Credentials(project_id="p-1"), True),
    # None never matches None (oslo would compare "None" == "None")
    ("domain_id:%(target.domain_id)s", {"domain_id": None}, MEMBER, False),
    ("project_id:%(project_id)s", {"project_id": None}, DOMAIN_READER, False),
    # credential key against a literal
    ("system_scope:all", {}, SYSTEM_READER, True),
    ("system_scope:all", {}, READER, False),
    ("is_admin_project:True", {}, Credentials(is_admin_project=True), True),
    ("is_admin_project:True", {}, Credentials(), False),
    ("is_admin:True", {}, Credentials(is_admin=True), True),
    ("is_admin:1", {}, Credentials(is_admin=True), False),  # oslo compares str(True) with "1"
    ("project_id:'p1'", {}, MEMBER, True),
    ('project_id:"p1"', {}, MEMBER, True),
    ("roles:reader", {}, READER, True),  # a list in the credentials matches any item
    ("roles:admin", {}, READER, False),
    ("token.domain.id:%(target.user.domain_id)s", {"user": {"domain_id": "d1"}}, DOMAIN_READER, True),
    ("token.domain.id:%(target.user.domain_id)s", {"user": {"domain_id": "d1"}}, READER, False),
    ("token.project.domain.id:%(target.domain.id)s", {"domain": {"id": "d1"}}, READER, True),
    ("token.is_admin_project:True", {}, Credentials(is_admin_project=True), True),
    ("no_such_key:x", {}, MEMBER, False),
    # a literal on the left, compared with the target
    ("'member':%(role.name)s", {"role": {"name": "member"}}, NOBODY, True),
    ("'member':%(role.name)s", {"role": {"name": "admin"}}, NOBODY, False),
    ("True:%(user.enabled)s", {"user": {"enabled": True}}, NOBODY, True),
    ("True:%(user.enabled)s", {"user": {"enabled": False}}, NOBODY, False),
    ("1:%(count)s", {"count": 1}, NOBODY, True),
    ("'a':%(x)s", {"x": "a"}, NOBODY, True),
    # rule: references
    ("rule:base", {}, MEMBER, True),
    ("not rule:base", {}, MEMBER, False),
])
def test_checks(check_str: str, target: dict[str, object], creds: Credentials, expected: bool) -> None:
    assert check(check_str, target, creds, extra=[Rule("base", "role:member")]) is expected


def test_checks_do_not_mutate_their_inputs() -> None:
    target = {"user": {"id": "m"}}
    assert check("user_id:%(target.user.id)s and role:member", target, MEMBER)
    assert target == {"user": {"id": "m"}}
    assert MEMBER.to_policy_values()["roles"] == ["member", "reader"]


@pytest.mark.parametrize(("check_str", "column", "reason"), [
    ("role:admin and", 15, "expected a check, found the end"),
    ("and role:admin", 1, "expected a check, found 'and'"),
    ("role:admin or or role:member", 15, "expected a check, found 'or'"),
    ("(role:admin", 12, "expected ')'"),
    ("role:admin)", 11, "unexpected ')'"),
    ("role:admin role:member", 12, "unexpected 'role:member'"),
    ("()", 2, "expected a check, found ')'"),
    ("not", 4, "expected a check, found the end"),
    ("admin", 1, "expected KIND:VALUE"),
    (":admin", 1, "expected KIND:VALUE"),
    ("role:", 1, "role: needs a value"),
    ("'quoted'", 1, "a quoted string 'quoted' is not a check"),
    ("'a':'a'", 1, "a quoted string"),  # oslo's tokenizer takes it for a string too
    ("project_id:%(project_id)d", 12, "only %(name)s substitutions"),
    ("project_id:%()s", 12, "empty target path"),
    ("project_id:%(a..b)s", 12, "empty target path"),
    ("a..b:x", 1, "empty credential key"),
    ("http://example.com/check", 1, "remote checks are not supported"),
    ("   ", 4, "expected a check, found the end"),
])
def test_malformed_check_names_rule_and_column(check_str: str, column: int, reason: str) -> None:
    with pytest.raises(PolicySyntaxError) as err:
        Enforcer([Rule("identity:get_user", check_str)])
    assert err.value.rule == "identity:get_user"
    assert err.value.column == column
    assert reason in err.value.reason
    assert "identity:get_user" in str(err.value) and f"column {column}" in str(err.value)


# ---------------------------------------------------------------------------------------------
# Keystone's defaults (keystone/common/policies/base.py, user.py, project.py) against personas

KEYSTONE = [
    Rule("admin_required", "role:admin or is_admin:1"),
    Rule("service_role", "role:service"),
    Rule("service_or_admin", "rule:admin_required or rule:service_role"),
    Rule("owner", "user_id:%(user_id)s"),
    Rule("token_subject", "user_id:%(target.token.user_id)s"),
    Rule("service_admin_or_token_subject", "rule:service_or_admin or rule:token_subject"),
    Rule("identity:validate_token", "rule:service_admin_or_token_subject"),
    Rule("identity:get_user",
         "(rule:admin_required) or (role:reader and system_scope:all) or "
         "(role:reader and token.domain.id:%(target.user.domain_id)s) or "
         "user_id:%(target.user.id)s"),
    Rule("identity:list_users",
         "(rule:admin_required) or (role:reader and system_scope:all) or "
         "(role:reader and domain_id:%(target.domain_id)s)"),
    Rule("identity:create_user",
         "(rule:admin_required) or (role:manager and token.domain.id:%(target.user.domain_id)s)"),
    Rule("identity:get_project",
         "(role:reader and system_scope:all) or "
         "(role:reader and domain_id:%(target.project.domain_id)s) or "
         "project_id:%(target.project.id)s"),
    Rule("identity:create_project",
         "(role:admin and system_scope:all) or "
         "(role:admin and domain_id:%(target.project.domain_id)s)"),
    Rule("identity:update_project_tags",
         "(role:admin and system_scope:all) or "
         "(role:admin and domain_id:%(target.project.domain_id)s) or "
         "(role:admin and project_id:%(target.project.id)s)"),
]

USER_IN_D1 = {"user_id": "u1", "user": {"id": "u1", "domain_id": "d1"}}
MEMBER_SELF = {"user_id": "m", "user": {"id": "m", "domain_id": "d1"}}
PROJECT_P1 = {"project": {"id": "p1", "domain_id": "d1"}}

ALL = set(PERSONAS)
GRANTS: list[tuple[str, dict[str, object], set[str]]] = [
    ("identity:get_user", USER_IN_D1,
     {"system_admin", "system_reader", "project_admin", "domain_reader", "domain_manager"}),
    ("identity:get_user", MEMBER_SELF,
     {"system_admin", "system_reader", "project_admin", "domain_reader", "domain_manager", "member"}),
    ("identity:list_users", {"domain_id": "d1"},
     {"system_admin", "system_reader", "project_admin", "domain_reader", "domain_manager"}),
    # No domain filter: a project reader must not pass on None == None.
    ("identity:list_users", {"domain_id": None}, {"system_admin", "system_reader", "project_admin"}),
    ("identity:create_user", {"user": {"domain_id": "d1"}},
     {"system_admin", "project_admin", "domain_manager"}),
    ("identity:create_user", {"user": {"domain_id": "d2"}}, {"system_admin", "project_admin"}),
    ("identity:get_project", PROJECT_P1,
     {"system_admin", "system_reader", "project_admin", "member", "reader", "domain_reader",
      "domain_manager"}),
    ("identity:create_project", PROJECT_P1, {"system_admin"}),
    ("identity:update_project_tags", PROJECT_P1, {"system_admin", "project_admin"}),
    ("identity:validate_token", {"token": {"user_id": "r"}}, {"system_admin", "project_admin", "reader"}),
]


@pytest.mark.parametrize(("rule", "target", "allowed"), GRANTS,
                         ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(GRANTS)])
def test_keystone_defaults_by_persona(rule: str, target: dict[str, object], allowed: set[str]) -> None:
    enforcer = Enforcer(KEYSTONE)
    granted = {name for name, creds in PERSONAS.items() if enforcer.enforce(rule, target, creds)}
    assert granted == allowed
    assert allowed <= ALL


def test_overcast_identity_defaults_load() -> None:
    from overcast.identity.policy import RULES

    enforcer = Enforcer(RULES)
    assert enforcer.enforce("identity:get_user", USER_IN_D1, PROJECT_ADMIN)
    assert not enforcer.enforce("identity:get_user", USER_IN_D1, OTHER_PROJECT)


# ---------------------------------------------------------------------------------------------
# Enforcer: unknown names, policy files, cycles


def test_enforce_unknown_rule_is_a_programming_error() -> None:
    enforcer = Enforcer(KEYSTONE)
    with pytest.raises(UnknownRule) as err:
        enforcer.enforce("identity:get_usr", {}, MEMBER)
    assert isinstance(err.value, KeyError)
    assert "identity:get_usr" in str(err.value)


def test_duplicate_default_is_refused() -> None:
    with pytest.raises(PolicyError, match="defined twice"):
        Enforcer([Rule("a", "@"), Rule("a", "!")])


def test_reference_to_missing_rule_is_false_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="overcast.policy"):
        enforcer = Enforcer([Rule("a", "rule:ghost or role:admin"), Rule("b", "rule:ghost")])
    assert [r.getMessage().count("'ghost'") for r in caplog.records] == [1]
    assert not enforcer.enforce("a", {}, MEMBER)
    assert enforcer.enforce("a", {}, PROJECT_ADMIN)
    assert not enforcer.enforce("b", {}, PROJECT_ADMIN)


@pytest.mark.parametrize(("suffix", "content"), [
    (".yaml", '# operator overrides\n"identity:get_user": "role:member"\n'
              '"custom_reader": "role:auditor"\n"identity:list_users": "rule:custom_reader"\n'),
    (".json", '{"identity:get_user": "role:member", "custom_reader": "role:auditor",'
              ' "identity:list_users": "rule:custom_reader"}'),
])
def test_policy_file_overrides(tmp_path: Path, suffix: str, content: str,
                               caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / f"policy{suffix}"
    path.write_text(content)
    with caplog.at_level(logging.WARNING, logger="overcast.policy"):
        enforcer = Enforcer(KEYSTONE, path)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "custom_reader" in warnings[0]
    assert enforcer.enforce("identity:get_user", {}, OTHER_PROJECT)
    assert not enforcer.enforce("identity:get_user", USER_IN_D1, SYSTEM_READER)
    auditor = Credentials(user_id="au", project_id="p9", roles=frozenset({"Auditor"}))
    assert enforcer.enforce("identity:list_users", {}, auditor)
    assert not enforcer.enforce("identity:list_users", {}, SYSTEM_ADMIN)
    # untouched defaults stay in force; a file-only rule is referenceable, not enforceable
    assert enforcer.enforce("identity:create_project", PROJECT_P1, SYSTEM_ADMIN)
    assert enforcer.check_strs["custom_reader"] == "role:auditor"
    with pytest.raises(UnknownRule):
        enforcer.enforce("custom_reader", {}, auditor)


def test_empty_policy_file_keeps_defaults(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("# nothing overridden\n")
    assert Enforcer(KEYSTONE, path).enforce("identity:create_project", PROJECT_P1, SYSTEM_ADMIN)


@pytest.mark.parametrize(("content", "message"), [
    ('"identity:get_user": [["role:admin"]]\n', "must be a check string, not list"),
    ('"identity:get_user":\n', "must be a check string, not NoneType"),
    ("- role:admin\n", "expected a mapping"),
    ('"a": "b\n', "not valid YAML"),
    ('"identity:get_user": "role:admin and"\n', "identity:get_user"),
])
def test_bad_policy_file_is_refused_at_load(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(content)
    with pytest.raises(PolicyError, match=message):
        Enforcer(KEYSTONE, path)


def test_missing_policy_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        Enforcer(KEYSTONE, tmp_path / "absent.yaml")


@pytest.mark.parametrize(("rules", "cycle"), [
    ({"a": "rule:a"}, ["a", "a"]),
    ({"a": "rule:b", "b": "role:x or rule:a"}, ["a", "b", "a"]),
    ({"top": "rule:a", "a": "rule:b", "b": "not (rule:c)", "c": "@ and rule:a"}, ["a", "b", "c", "a"]),
])
def test_rule_cycle_is_refused_at_load(rules: dict[str, str], cycle: list[str]) -> None:
    with pytest.raises(PolicyCycleError) as err:
        Enforcer([Rule(name, check_str) for name, check_str in rules.items()])
    assert err.value.cycle == cycle
    assert " -> ".join(cycle) in str(err.value)


def test_cycle_introduced_by_policy_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text('"admin_required": "rule:service_or_admin"\n')
    with pytest.raises(PolicyCycleError, match="admin_required -> service_or_admin -> admin_required"):
        Enforcer(KEYSTONE, path)


def test_long_reference_chain_loads_and_evaluates() -> None:
    rules = [Rule(f"r{i}", f"rule:r{i + 1}") for i in range(3000)] + [Rule("r3000", "role:member")]
    enforcer = Enforcer(rules)
    assert enforcer.enforce("r2990", {}, MEMBER)


# ---------------------------------------------------------------------------------------------
# Credentials and the sample file


def test_credentials_policy_values() -> None:
    values = DOMAIN_READER.to_policy_values()
    assert values["domain_id"] == "d1" and values["project_id"] is None
    assert values["roles"] == ["reader"]
    assert values["token"] == {"user": {"id": "dr", "domain": {"id": "d1"}},
                               "is_admin_project": False, "audit_ids": [], "domain": {"id": "d1"}}
    values["roles"] = ["admin"]  # a copy: the next check is unaffected
    assert not check("role:admin", creds=DOMAIN_READER)


def test_sample_yaml_round_trips_and_documents() -> None:
    rules = [
        Rule("identity:get_user", "(role:reader and system_scope:all) or user_id:%(target.user.id)s",
             "Show user details.\nIncludes HEAD.", [("GET", "/v3/users/{user_id}"),
                                                   ("HEAD", "/v3/users/{user_id}")],
             ["system", "domain", "project"]),
        Rule("identity:get_auth_catalog", "", "The token's catalog: \"quoted\"."),
    ]
    text = sample_yaml(rules)
    assert yaml.safe_load(text) == {r.name: r.check_str for r in rules}
    assert ("# Show user details.\n# Includes HEAD.\n# Intended scope(s): system, domain, project\n"
            "# GET /v3/users/{user_id}\n# HEAD /v3/users/{user_id}\n"
            '"identity:get_user": "(role:reader and system_scope:all) or user_id:%(target.user.id)s"\n'
            ) in text


def test_sample_yaml_of_identity_loads_as_a_policy_file(tmp_path: Path) -> None:
    from overcast.identity.policy import RULES

    path = tmp_path / "policy.yaml"
    path.write_text(sample_yaml(RULES))
    enforcer = Enforcer(RULES, path)
    assert dict(enforcer.check_strs) == {r.name: r.check_str for r in RULES}
