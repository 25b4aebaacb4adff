"""The image service's agent: the importer, which makes each image's data match what its
import asked for (the data in the first target store, then copies in the others).

Every image worker runs one (`overcast serve image`, `overcast up`); `overcast image
import-agent --once` runs one pass by hand. Triggers only say "look at image X": the API
pokes the worker's own agent when it records an import, and each agent goes over every
unfinished import at start and every `[image] import_resync_interval` seconds. Whoever
looks first claims the image by compare-and-set on its row; the others leave it alone.
"""

from overcast.common.agent import AgentLoop, Reconciler
from overcast.image.agent.importer import Importer, LostClaim

__all__ = ["AgentLoop", "Importer", "LostClaim", "Reconciler"]
