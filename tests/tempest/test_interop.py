"""Tempest is the referee: the OpenStack interop must-pass tests of every service Overcast runs.

The list (harness/interop-2020.06-platform.txt) is what "an OpenStack cloud" means; each
service that exists must pass its part. Tempest runs from its own virtualenv, made once and
kept in ~/.cache (about 25 s), against a real `overcast up`.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from overcast.config import Config
from overcast.services import SERVICES
from tests.compat.conftest import Cloud, start_cloud, stop_cloud
from tests.conftest import require

HARNESS = Path(__file__).parent / "harness"
# service name in overcast.services -> tempest module prefix
TEMPEST_PREFIX = {
    "identity": "tempest.api.identity.",
    "image": "tempest.api.image.",
    "compute": "tempest.api.compute.",
    "network": "tempest.api.network.",
    "volume": "tempest.api.volume.",
    "object": "tempest.api.object_storage.",
}

pytestmark = pytest.mark.tempest


def interop_tests(services: list[str] | None = None) -> list[str]:
    """The interop tests of `services`; by default of those `overcast up` runs by default. A
    service still in preview is off by default ([name] enabled = false, see
    docs/architecture.md) until its whole interop part passes; test_interop_preview.py runs
    its part meanwhile."""
    default = Config(state_dir=Path("/nonexistent-state"))
    if services is None:
        services = [s for s in SERVICES if s in TEMPEST_PREFIX and getattr(default, s).enabled]
    prefixes = [TEMPEST_PREFIX[s] for s in services]
    tests = []
    for line in (HARNESS / "interop-2020.06-platform.txt").read_text().splitlines():
        parts = line.split("\t")
        # a test the guideline names under two capabilities runs once
        if len(parts) >= 2 and parts[1].startswith(tuple(prefixes)) and parts[1] not in tests:
            tests.append(parts[1])
    return tests


#: Interop tests the installed tempest (47.0.0) no longer has.
REMOVED_FROM_TEMPEST = frozenset({
    "tempest.api.network.test_routers.RoutersTest.test_update_router_unset_gateway",
})


def _known(tmp_path: Path) -> set[str]:
    """The test names tempest selected (run_tempest.sh saves the selection)."""
    listed = tmp_path / "tempest-ws" / "logs" / "last-selected.txt"
    return {line.split("[", 1)[0] for line in listed.read_text().splitlines() if line}


def _public_network(cloud: Cloud) -> dict[str, str]:
    """The installation guide's provider network, for the router and floating IP tests
    (tempest's [network] public_network_id)."""
    net = cloud.openstack_json("network", "create", "public", "--external", "--share",
                               "--provider-network-type", "flat",
                               "--provider-physical-network", "provider")
    cloud.openstack("subnet", "create", "public-subnet", "--network", "public",
                    "--allocation-pool", "start=203.0.113.101,end=203.0.113.200", "--no-dhcp",
                    "--gateway", "203.0.113.1", "--subnet-range", "203.0.113.0/24")
    assert isinstance(net, dict)
    # [network-feature-enabled] api_extensions stays tempest's "all": with an exact list (no
    # dvr) tempest waits for router interface ports to go ACTIVE, which needs the L3 data
    # plane (docs/network.md "Tempest").
    return {"PUBLIC_NETWORK_ID": str(net["id"]), "PUBLIC_NETWORK_NAME": "public"}


def run_interop(cloud: Cloud, tests: list[str], tmp_path: Path, extra_env: dict[str, str],
                expected_skips: frozenset[str] = frozenset()) -> None:
    """Run `tests` with tempest against `cloud`: every one passes, but for the tempest
    releases' removals and `expected_skips` (which must skip, not fail)."""
    regex = "^(" + "|".join(re.escape(t) for t in tests) + r")\["
    env = {**os.environ,
           "AUTH_URL": cloud.auth_url, "ADMIN_PASSWORD": cloud.admin_password,
           "IMAGE_REF": "00000000-0000-0000-0000-000000000000", "FLAVOR_REF": "1",
           "COMPAT_VENV": str(Path.home() / ".cache" / "overcast-tempest-venv"),
           "TEMPEST_WORKSPACE": str(tmp_path / "tempest-ws"), "TEMPEST_DEBUG": "false",
           "IMAGE_FORMAT_ENFORCEMENT": "false", **extra_env}
    r = subprocess.run(["bash", str(HARNESS / "run_tempest.sh"), "-r", regex, "-c", "2"],
                       env=env, capture_output=True, text=True, timeout=1800)
    summary = [ln for ln in r.stdout.splitlines() if ln.startswith("tempest: ")]
    assert summary, f"no tempest summary:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    m = re.match(r"tempest: (\d+) passed, (\d+) failed, (\d+) skipped", summary[-1])
    assert m, summary[-1]
    passed, failed, skipped = map(int, m.groups())
    failures = [ln for ln in r.stdout.splitlines()
                if "... FAILED" in ln or "FAIL:" in ln or "... SKIPPED" in ln]
    # The 2020.06 guideline names tests later tempest releases removed (the router test
    # test_update_router_unset_gateway): they cannot run, so what counts is what tempest
    # has; each one missing must be a known removal.
    missing = [t for t in tests if t not in _known(tmp_path)]
    assert set(missing) <= REMOVED_FROM_TEMPEST, f"not in tempest: {missing}"
    skips = len([t for t in tests if t in expected_skips and t not in missing])
    assert (failed, skipped, passed) == (0, skips, len(tests) - len(missing) - skips), (
        f"{summary[-1]} of {len(tests)} interop tests ({skips} expected skips)\n"
        + "\n".join(failures) + f"\n{r.stdout[-6000:]}")


def test_interop_must_pass(tmp_path: Path) -> None:
    tests = interop_tests()
    assert tests, "no interop tests selected for the services that exist"
    require("python3 -m venv", subprocess.run(["python3", "-c", "import venv, ensurepip"],
                                             capture_output=True).returncode == 0)
    # The interop image tests upload random bytes as any disk_format; Glance passes them only
    # with its format check off ([image_format] require_image_format_match = False), and so do
    # we (the safety checks, e.g. qcow2 backing files, stay on).
    cloud = start_cloud(tmp_path, {"OVERCAST_IMAGE__REQUIRE_IMAGE_FORMAT_MATCH": "false"})
    try:
        public = _public_network(cloud) if any(t.startswith(TEMPEST_PREFIX["network"])
                                               for t in tests) else {}
        run_interop(cloud, tests, tmp_path, public)
    finally:
        stop_cloud(cloud)
