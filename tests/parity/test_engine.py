"""The snapshot engine itself: transformation, comparison, declared differences, marking rules.

Pure functions on made-up answers (no server): they show that a parity test fails when an answer
changes, when a declaration covers more than it says, and when a declaration has gone stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.parity.conftest import _marking_errors
from tests.parity.snapshot import Known, Snapshot, SnapshotMismatch, check, path_matches, transform

URLS = {"http://127.0.0.1:5000": "identity-url"}
PID = "0123456789abcdef0123456789abcdef"
UID = "fedcba9876543210fedcba9876543210"


def _entry(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"request": {"method": "GET", "path": f"/v3/projects/{PID}"}, "status": status,
            "headers": headers or {}, "body": body}


def _project(pid: str = PID) -> dict[str, Any]:
    return {"project": {"id": pid, "links": {"self": f"http://127.0.0.1:5000/v3/projects/{pid}"},
                        "created_at": "2026-01-02T03:04:05.123456Z", "enabled": True}}


def test_transform_numbers_ids_and_keeps_their_relations() -> None:
    state = {"a": _entry(200, _project()), "b": _entry(200, {"user": {"id": UID, "default_project_id": PID}})}
    out = transform(state, URLS)
    assert out["a"]["body"]["project"]["id"] == "<project-id:1>"
    assert out["a"]["body"]["project"]["links"]["self"] == "<identity-url>/v3/projects/<project-id:1>"
    assert out["a"]["request"]["path"] == "/v3/projects/<project-id:1>"
    assert out["b"]["body"]["user"] == {"id": "<user-id:1>", "default_project_id": "<project-id:1>"}
    # the value goes, its format stays
    assert out["a"]["body"]["project"]["created_at"] == "<datetime:dddd-dd-ddTdd:dd:dd.ddddddZ>"


def test_the_same_id_twice_is_compared() -> None:
    recorded = transform({"a": _entry(200, {"x": PID, "y": PID})}, URLS)
    ours = transform({"a": _entry(200, {"x": PID, "y": UID})}, URLS)
    assert recorded != ours


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda e: e.update(status=201), "$.a.status: value differs; recorded 200, ours 201"),
        (lambda e: e["body"]["project"].pop("enabled"), "$.a.body.project.enabled: missing"),
        (lambda e: e["body"]["project"].update(extra={}), "$.a.body.project.extra: not recorded"),
        (lambda e: e["body"]["project"].update(enabled="true"), "$.a.body.project.enabled: type differs"),
        (lambda e: e["headers"].update({"content-type": "text/plain"}), "$.a.headers.content-type: value"),
    ],
)
def test_a_changed_answer_fails(change: Any, expected: str) -> None:
    recorded = transform({"a": _entry(200, _project(), {"content-type": "application/json"})}, URLS)
    ours_raw = _entry(200, _project(), {"content-type": "application/json"})
    change(ours_raw)
    problems = check(recorded, transform({"a": ours_raw}, URLS), [])
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_a_declaration_covers_its_path_only() -> None:
    recorded = transform({"a": _entry(200, _project())}, URLS)
    raw = _entry(404, _project())
    raw["body"]["project"]["enabled"] = False
    known = [Known("$.a.body.project.enabled", "why", value_only=True)]
    problems = check(recorded, transform({"a": raw}, URLS), known)
    assert problems == ["$.a.status: value differs; recorded 200, ours 404"]


def test_value_only_still_checks_the_type() -> None:
    recorded = transform({"a": _entry(200, _project())}, URLS)
    raw = _entry(200, _project())
    raw["body"]["project"]["enabled"] = "yes"
    problems = check(recorded, transform({"a": raw}, URLS), [Known("$.a.body.project.enabled", "why", True)])
    assert len(problems) == 1 and "difference of shape" in problems[0]


def test_a_stale_declaration_fails() -> None:
    recorded = transform({"a": _entry(200, _project())}, URLS)
    problems = check(recorded, recorded, [Known("$.a.body.project.enabled", "fixed since")])
    assert problems == ["declared difference $.a.body.project.enabled ('fixed since') no longer differs: "
                        "remove the declaration"]


def test_paths() -> None:
    assert path_matches("$.a.body.roles", ("a", "body", "roles", "3", "name"))
    assert path_matches("$.*.headers.location", ("x", "headers", "location"))
    assert path_matches("$..links", ("a", "body", "project", "links", "self"))
    assert path_matches("$.l.body.items[0].id", ("l", "body", "items", "0", "id"))
    assert not path_matches("$.a.body.roles", ("a", "body", "role"))
    assert not path_matches("$.a.body", ("b", "body"))


def test_snapshot_records_then_compares(tmp_path: Path) -> None:
    file = tmp_path / "test_x.snapshot.json"
    req = httpx.Request("POST", "http://127.0.0.1:5000/v3/projects", json={"project": {"name": "p"}})

    def answer(status: int) -> httpx.Response:
        return httpx.Response(status, json=_project(), request=req)

    rec = Snapshot(file, "t::x", update=True, urls=URLS, recorded_against={"keystone": "30.0.0"})
    rec.match("create", answer(201))
    rec.finish()
    data = json.loads(file.read_text())
    assert data["t::x"]["recorded-against"] == {"keystone": "30.0.0"}
    assert data["t::x"]["recorded-content"]["create"]["request"]["body"] == {"project": {"name": "p"}}
    same = Snapshot(file, "t::x", update=False, urls=URLS)
    same.match("create", answer(201))
    same.finish()
    changed = Snapshot(file, "t::x", update=False, urls=URLS)
    changed.match("create", answer(200))
    with pytest.raises(SnapshotMismatch, match=r"\$\.create\.status: value differs; recorded 201, ours 200"):
        changed.finish()
    unknown = Snapshot(file, "t::y", update=False, urls=URLS)
    unknown.match("create", answer(201))
    with pytest.raises(SnapshotMismatch, match="nothing recorded"):
        unknown.finish()


def _item(markers: dict[str, list[Any]]) -> Any:
    def closest(name: str) -> Any:
        return (markers.get(name) or [None])[0]

    def iter_markers(name: str) -> list[Any]:
        return markers.get(name, [])

    return SimpleNamespace(nodeid="t::x", get_closest_marker=closest, iter_markers=iter_markers)


def _mark(*args: Any, **kwargs: Any) -> Any:
    return SimpleNamespace(args=args, kwargs=kwargs)


def test_marking_rules() -> None:
    ok = _item({"validated": [_mark()], "known_difference": [_mark("$.a.body.x", "overcast differs: y")]})
    assert _marking_errors(ok) == []
    assert "exactly one" in _marking_errors(_item({}))[0]
    assert "exactly one" in _marking_errors(_item({"validated": [_mark()], "overcast_only": [_mark()]}))[0]
    no_reason = _item({"validated": [_mark()], "known_difference": [_mark("$.a.body.x", " ")]})
    assert "has no reason" in _marking_errors(no_reason)[0]
    for whole in ("$", "$.a", "$.*.body", "$..body"):
        bad = _item({"validated": [_mark()], "known_difference": [_mark(whole, "r")]})
        assert "never skipped" in _marking_errors(bad)[0], whole
