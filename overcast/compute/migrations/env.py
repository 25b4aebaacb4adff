from overcast.common.migrations_env import run_migrations
from overcast.compute import instance_models  # noqa: F401 - the instance tables (0002)
from overcast.compute.models import Base

run_migrations(Base.metadata)
