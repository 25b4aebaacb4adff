from overcast.common.migrations_env import run_migrations
from overcast.compute.models import Base

run_migrations(Base.metadata)
