from overcast.common.migrations_env import run_migrations
from overcast.placement.models import Base

run_migrations(Base.metadata)
