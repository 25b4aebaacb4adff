"""The object daemons, each a reconciler driven by the agent loop (common/agent.py), over
the devices this node serves:

- replicator (replicator.py): a partition's replicas converge. Object partitions compare
  suffix hashes with each peer and push the files a peer lacks (Swift's REPLICATE, not a
  listing of every object); a partition held on a handoff goes to its primaries and is then
  removed. Account and container databases merge their rows into each peer whose digest
  differs. A wiped device is refilled by its peers' replicators.
- auditor (auditor.py): reads every object file, checks its bytes against the ETag and length
  in its metadata, and quarantines a file that fails, so the replicator restores a good copy.
- expirer (expirer.py): deletes the objects whose X-Delete-At has passed, on this node.
- updater (updater.py): sends the container updates kept as async pendings.

`overcast object replicator|auditor|expirer|updater --once` runs one pass (Swift's run_once).
"""

from __future__ import annotations

from collections.abc import Callable

from overcast.common.agent import AgentLoop
from overcast.config import Config
from overcast.object.agent.auditor import Auditor
from overcast.object.agent.expirer import Expirer
from overcast.object.agent.replicator import Replicator
from overcast.object.agent.updater import Updater
from overcast.object.ring import Ring
from overcast.object.storage.server import StorageServer

__all__ = ["Daemons", "local_devices"]


def local_devices(ring: Ring, storage: StorageServer, ports: set[int]) -> list[str]:
    """The devices of the ring this node serves: those on the given ports (0: in-process)
    whose directory is under this node's devices root (or may be made there)."""
    return sorted({d.device for d in ring.devices if d is not None and d.port in ports})


class Daemons:
    """The four daemons of one storage node, started and stopped together."""

    def __init__(self, config: Config, storage: StorageServer, ring: Callable[[], Ring],
                 ports: set[int] | None = None):
        self.ports = ports if ports is not None else {0}

        def devices() -> list[str]:
            return local_devices(ring(), storage, self.ports)

        o = config.object
        self.replicator = Replicator(storage, ring, devices, self.ports)
        self.auditor = Auditor(storage, devices)
        self.expirer = Expirer(storage, ring, devices)
        self.updater = Updater(storage, devices)
        self.loops = [AgentLoop("object-replicator", self.replicator, o.replicator_interval, 2),
                      AgentLoop("object-auditor", self.auditor, o.auditor_interval, 1),
                      AgentLoop("object-expirer", self.expirer, o.expirer_interval, 1),
                      AgentLoop("object-updater", self.updater, o.expirer_interval, 1)]

    def start(self) -> None:
        for loop in self.loops:
            loop.start()

    async def stop(self) -> None:
        for loop in self.loops:
            await loop.stop()
