"""The services Overcast runs: a literal table, no plugin discovery."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI

from overcast.common.app import TokenValidator
from overcast.common.policy import Rule
from overcast.config import Config

__all__ = ["SERVICES", "LocalValidator", "ServiceSpec"]

#: Identity running in the same process, for the other services to validate tokens with.
LocalValidator = Callable[[], TokenValidator | None]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    create_app: Callable[[Config, LocalValidator | None], FastAPI]
    catalog_type: str | None
    catalog_name: str
    description: str
    version_path: str  # appended to the service's base URL in the catalog
    policy_rules: Callable[[], list[Rule]]
    #: The package of its app.py and policy.py, when it is not overcast.<name>.
    package: str = ""


def _identity_app(config: Config, local: LocalValidator | None) -> FastAPI:
    from overcast.identity.app import create_app

    return create_app(config)


def _image_app(config: Config, local: LocalValidator | None) -> FastAPI:
    from overcast.image.app import create_app

    return create_app(config, local)


def _compute_app(config: Config, local: LocalValidator | None) -> FastAPI:
    from overcast.compute.app import create_app

    return create_app(config, local)


def _metadata_app(config: Config, local: LocalValidator | None) -> FastAPI:
    from overcast.compute.metadata.app import create_app

    return create_app(config, local)


def _metadata_rules() -> list[Rule]:
    from overcast.compute.metadata.policy import RULES

    return RULES


def _novncproxy_app(config: Config, local: LocalValidator | None) -> FastAPI:
    from overcast.compute.console_proxy.app import create_app

    return create_app(config, local)


def _novncproxy_rules() -> list[Rule]:
    from overcast.compute.console_proxy.policy import RULES

    return RULES


def _placement_app(config: Config, local: LocalValidator | None) -> FastAPI:
    from overcast.placement.app import create_app

    return create_app(config, local)


def _placement_rules() -> list[Rule]:
    from overcast.placement.policy import RULES

    return RULES


def _network_app(config: Config, local: LocalValidator | None) -> FastAPI:
    from overcast.network.app import create_app

    return create_app(config, local)


def _network_rules() -> list[Rule]:
    from overcast.network.policy import RULES

    return RULES


def _object_app(config: Config, local: LocalValidator | None) -> FastAPI:
    from overcast.object.app import create_app

    return create_app(config, local)


def _object_rules() -> list[Rule]:
    from overcast.object.policy import RULES

    return RULES


def _identity_rules() -> list[Rule]:
    from overcast.identity.policy import RULES

    return RULES


def _image_rules() -> list[Rule]:
    from overcast.image.policy import RULES

    return RULES


def _compute_rules() -> list[Rule]:
    from overcast.compute.policy import RULES

    return RULES


SERVICES: dict[str, ServiceSpec] = {
    "identity": ServiceSpec("identity", _identity_app, "identity", "keystone",
                            "OpenStack Identity", "/v3", _identity_rules),
    "image": ServiceSpec("image", _image_app, "image", "glance", "OpenStack Image", "",
                         _image_rules),
    "compute": ServiceSpec("compute", _compute_app, "compute", "nova", "OpenStack Compute",
                           "/v2.1", _compute_rules),
    # Nova's metadata API: guests read it through the metadata proxy, never the catalog.
    "metadata": ServiceSpec("metadata", _metadata_app, None, "nova-metadata",
                            "Compute metadata", "", _metadata_rules,
                            package="compute.metadata"),
    # Nova's noVNC console proxy: console URLs name it, not the catalog.
    "novncproxy": ServiceSpec("novncproxy", _novncproxy_app, None, "nova-novncproxy",
                              "Compute noVNC console proxy", "", _novncproxy_rules,
                              package="compute.console_proxy"),
    "placement": ServiceSpec("placement", _placement_app, "placement", "placement",
                             "Placement API", "", _placement_rules),
    # Neutron's catalog URL has no version; clients add /v2.0 themselves.
    "network": ServiceSpec("network", _network_app, "network", "neutron",
                           "OpenStack Networking", "", _network_rules),
    "object": ServiceSpec("object", _object_app, "object-store", "swift",
                          "OpenStack Object Storage", "/v1/AUTH_%(project_id)s", _object_rules),
}
