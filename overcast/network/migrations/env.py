from overcast.common.migrations_env import run_migrations
from overcast.network.models import Base

run_migrations(Base.metadata)
