"""Glance's standard metadata definition namespaces, as data.

The JSON files here are Glance's published definitions (`etc/metadefs/*.json` of
openstack/glance at commit c76abb08e2bc, July 2026), unchanged: the namespaces DevStack,
Kolla-Ansible and OpenStack-Ansible load with `glance-manage db_load_metadefs`, and which
clients building image forms ask for with `GET /v2/metadefs/namespaces?resource_types=...`.
Overcast loads them at bootstrap and with `overcast image load-metadefs`
(`Metadefs.load_standard`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["standard_namespaces"]

DATA_DIR = Path(__file__).parent


def standard_namespaces() -> list[dict[str, Any]]:
    """Every standard namespace definition, in file name order."""
    return [json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(DATA_DIR.glob("*.json"))]
