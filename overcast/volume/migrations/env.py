from overcast.common.migrations_env import run_migrations
from overcast.volume.models import Base

run_migrations(Base.metadata)
