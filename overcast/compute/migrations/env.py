from overcast.common.migrations_env import run_migrations
from overcast.compute import (
    guest_access_models,  # noqa: F401 - passwords, consoles (0004)
    instance_models,  # noqa: F401 - the instance tables (0002)
)
from overcast.compute.models import Base

run_migrations(Base.metadata)
