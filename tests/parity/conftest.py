"""Parity tests: the same requests against the real OpenStack service (recording) and Overcast.

Target, from OVERCAST_TEST_TARGET:
* `overcast` (the default, CI): one real `overcast up` on free loopback ports for the session
  (tests/compat's start_cloud), each test's answers compared with its recording; the declared
  differences (`known_difference` markers) are allowed, and must still be differences.
* `openstack`: the real Keystone 30 and Glance 33 (PARITY_IDENTITY_URL / PARITY_IMAGE_URL /
  PARITY_ADMIN_PASSWORD, or started here as tests/parity/record.py starts them). With
  SNAPSHOT_UPDATE=1 the answers are recorded; without, the recording is checked against the
  real service with nothing allowed.

Why a real `overcast up` and not the in-process apps: the recording is made over real sockets
through uWSGI, so Overcast is heard the same way, with its real server (uvicorn's headers,
streamed image data, the access-log and fault layers in the order `up` stacks them); it costs
one start per session (~3 s).

Every test here carries exactly one of the markers `validated` (its snapshot was recorded
against the real service) or `overcast_only` (recorded against Overcast, for what the real
service cannot be asked here); each `known_difference(path, reason)` must give a path below one
match key and a reason. Both are checked at collection: a run with a bad marking stops.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.parity.client import Api, Target, password_auth
from tests.parity.snapshot import Known, Snapshot, _parse_path

ROOT = Path(__file__).resolve().parents[2]
TARGET = os.environ.get("OVERCAST_TEST_TARGET", "overcast")
UPDATE = os.environ.get("SNAPSHOT_UPDATE") == "1"
SINGLE_MARKERS = ("validated", "overcast_only")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "validated: a parity test recorded against the real OpenStack service")
    config.addinivalue_line("markers", "overcast_only: a parity test recorded against Overcast itself")
    config.addinivalue_line(
        "markers",
        "known_difference(path, reason, value_only=False): Overcast differs from the recording "
        "at this JSON path; compared everywhere else",
    )


def _marking_errors(item: pytest.Item) -> list[str]:
    errors = []
    found = [m for m in SINGLE_MARKERS if item.get_closest_marker(m) is not None]
    if len(found) != 1:
        errors.append(f"{item.nodeid}: needs exactly one of {SINGLE_MARKERS}, has {found}")
    for m in item.iter_markers("known_difference"):
        path = m.kwargs.get("path", m.args[0] if m.args else "")
        reason = m.kwargs.get("reason", m.args[1] if len(m.args) > 1 else "")
        if not isinstance(reason, str) or not reason.strip():
            errors.append(f"{item.nodeid}: known_difference {path!r} has no reason")
        try:
            segs = _parse_path(path)
        except (ValueError, AttributeError):
            errors.append(f"{item.nodeid}: known_difference path {path!r} is not a JSON path")
            continue
        # a path must name one match key and something below it: never a whole test or a whole
        # response (`$`, `$..x` at the top, `$.*`, `$.create`)
        if len(segs) < 2 or segs[0] in ("*", ".."):
            errors.append(f"{item.nodeid}: known_difference {path!r} must name a match key and a "
                          "path below it ($.<key>.body...): a whole test or response is never skipped")
    return errors


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    errors = []
    for item in items:
        # the parity tests are those of tests/parity/<service>/ (test_engine.py tests the engine)
        if here in Path(item.path).parent.parents:
            errors.extend(_marking_errors(item))
    if errors:
        raise pytest.UsageError("parity test marking:\n  " + "\n  ".join(errors))


# ------------------------------------------------------------------------------ targets


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    if TARGET == "openstack":
        if os.environ.get("PARITY_IDENTITY_URL"):
            yield Target("openstack", os.environ["PARITY_IDENTITY_URL"], os.environ["PARITY_IMAGE_URL"],
                         os.environ["PARITY_ADMIN_PASSWORD"],
                         json.loads(os.environ.get("PARITY_RECORDED_AGAINST", "{}")))
            return
        from tests.parity.record import real_cloud

        with real_cloud(tmp_path_factory.mktemp("openstack")) as rc:
            env = rc.env()
            yield Target("openstack", rc.identity_url, rc.image_url, env["PARITY_ADMIN_PASSWORD"],
                         rc.versions)
        return
    if TARGET != "overcast":
        raise pytest.UsageError(f"OVERCAST_TEST_TARGET={TARGET!r}: overcast or openstack")
    from overcast.services import SERVICES
    from tests.compat.conftest import start_cloud, stop_cloud

    # bcrypt cost 4, as the recording's Keystone: the cost changes no answer, only the time
    # and only Identity and Image, as the recorded deployment (its catalog has those two)
    cloud = start_cloud(tmp_path_factory.mktemp("parity"),
                        {"OVERCAST_IDENTITY__PASSWORD_HASH_ROUNDS": "4",
                         **{f"OVERCAST_{name.upper()}__ENABLED": "false"
                            for name in SERVICES if name not in ("identity", "image")}})
    yield Target("overcast", f"http://127.0.0.1:{cloud.ports['identity']}",
                 f"http://127.0.0.1:{cloud.ports['image']}", cloud.admin_password,
                 {"overcast": "this checkout"})
    stop_cloud(cloud)


@pytest.fixture(scope="session")
def admin_token(target: Target) -> str:
    with httpx.Client(base_url=target.identity_url, timeout=60) as c:
        r = c.post("/v3/auth/tokens", json=password_auth("admin", target.admin_password))
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


@pytest.fixture(scope="session")
def identity(target: Target, admin_token: str) -> Iterator[Api]:
    api = Api(target.identity_url, admin_token)
    yield api
    api.client.close()


@pytest.fixture(scope="session")
def image(target: Target, admin_token: str) -> Iterator[Api]:
    api = Api(target.image_url, admin_token)
    yield api
    api.client.close()


@pytest.fixture
def snapshot(request: pytest.FixtureRequest, target: Target) -> Snapshot:
    path = Path(request.node.path)
    test_id = path.relative_to(ROOT).as_posix() + "::" + request.node.name
    only_ours = request.node.get_closest_marker("overcast_only") is not None
    if UPDATE and (target.name == "openstack") == only_ours:
        pytest.fail(f"SNAPSHOT_UPDATE=1 against {target.name} does not record "
                    f"{'overcast_only' if only_ours else 'validated'} tests")
    known = []
    if target.name == "overcast" and not only_ours:
        for m in request.node.iter_markers("known_difference"):
            path_ = m.kwargs.get("path", m.args[0] if m.args else "")
            reason = m.kwargs.get("reason", m.args[1] if len(m.args) > 1 else "")
            known.append(Known(path_, reason, bool(m.kwargs.get("value_only", False))))
    return Snapshot(path.with_name(path.stem + ".snapshot.json"), test_id, update=UPDATE,
                    urls=target.urls, known=known, recorded_against=target.recorded_against)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a test body that passed, record its snapshot or compare it (a failure of the test)."""
    result = yield
    snap = getattr(item, "funcargs", {}).get("snapshot")
    if isinstance(snap, Snapshot):
        snap.finish()
    return result
