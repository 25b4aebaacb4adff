"""Making this host's network agent from the configuration, or saying why it cannot run."""

from __future__ import annotations

import logging
import socket

from overcast.common.bus import Bus
from overcast.config import Config
from overcast.network.agent.host import NetworkAgent
from overcast.network.agent.linuxbridge import LinuxBridgeBackend

__all__ = ["agent_host", "make_agent"]

log = logging.getLogger("overcast.network.agent")


def agent_host(config: Config) -> str:
    """The host name ports are bound to here: the same the compute agent reports."""
    return config.network.agent_host or config.compute.host or socket.gethostname()


def make_agent(config: Config, bus: Bus, host: str | None = None) -> NetworkAgent | None:
    """This host's agent, or None (logged) when the host cannot wire networks."""
    host = host or agent_host(config)
    section = config.network
    backend = LinuxBridgeBackend(host, config.state_dir / "network" / host,
                                 local_ip=section.local_ip or None)
    problems = backend.problems()
    if problems:
        for problem in problems:
            log.warning("network agent for %s not started: %s", host, problem)
        return None
    return NetworkAgent(host, backend, bus, tunnel_ip=section.local_ip or None,
                        resync_interval=section.agent_resync_interval,
                        report_interval=section.agent_report_interval)
