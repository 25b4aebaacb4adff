"""Time is aware UTC everywhere (issue 8 #10): a host west of UTC must not resurrect revoked
tokens. A naive UTC datetime's .timestamp() is read as local time; on America/New_York that
put the revocation horizon five hours ahead and discarded every revocation event."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from overcast.common import clock
from tests.functional.identity.conftest import Keystone


@pytest.fixture
def west_of_utc() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        assert time.timezone != 0, "the time zone did not change"
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


async def test_revoked_tokens_stay_revoked_west_of_utc(west_of_utc: None,
                                                       keystone: Keystone) -> None:
    await keystone.make_user("tz", "tz-pass", "tz-proj")
    token = await keystone.token("tz", "tz-pass", "tz-proj")
    check = {**keystone.admin, "X-Subject-Token": token}
    assert (await keystone.http.head("/v3/auth/tokens", headers=check)).status_code == 200
    r = await keystone.http.delete("/v3/auth/tokens", headers=check)
    assert r.status_code == 204
    for _ in range(3):  # the revocation list is reloaded from the database on these checks
        assert (await keystone.http.head("/v3/auth/tokens", headers=check)).status_code == 404
        r = await keystone.http.get("/v3/projects", headers={"X-Auth-Token": token})
        assert r.status_code == 401


def test_clock_never_hands_out_naive_times(west_of_utc: None) -> None:
    now = clock.utcnow()
    assert now.tzinfo is not None and now.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert abs(clock.epoch(now) - time.time()) < 5
    assert clock.parse_iso("2026-12-01T10:00:00Z") == clock.parse_iso("2026-12-01T05:00:00-05:00")
    assert clock.parse_iso("2026-12-01T10:00:00").tzinfo is not None
    with pytest.raises(TypeError):
        clock.epoch(now.replace(tzinfo=None))
