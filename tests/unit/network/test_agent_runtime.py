"""A host that cannot wire networks gets no network agent, and says why, instead of failing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from overcast.common.bus import MemoryBus
from overcast.config import load_config
from overcast.network.agent import linuxbridge
from overcast.network.agent.runtime import agent_host, make_agent
from tests.helpers import scrubbed_env


def test_no_agent_without_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               caplog: pytest.LogCaptureFixture) -> None:
    config = load_config(tmp_path, environ=scrubbed_env(OVERCAST_NETWORK__AGENT_HOST="h1"))
    monkeypatch.setattr(linuxbridge.os, "geteuid", lambda: 1000)
    with caplog.at_level(logging.WARNING, logger="overcast.network.agent"):
        assert make_agent(config, MemoryBus()) is None
    assert "network agent for h1 not started" in caplog.text and "root" in caplog.text


def test_no_dhcp_without_dnsmasq(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(tmp_path, environ=scrubbed_env(OVERCAST_NETWORK__AGENT_HOST="h1"))
    monkeypatch.setattr(linuxbridge.os, "geteuid", lambda: 0)
    monkeypatch.setattr(linuxbridge.shutil, "which",
                        lambda name: None if name == "dnsmasq" else f"/usr/bin/{name}")
    agent = make_agent(config, MemoryBus())
    assert agent is not None and agent.host == "h1" == agent_host(config)
    assert agent.reconciler.dhcp is False
    assert any("dnsmasq" in p for p in agent.dhcp_problems)
