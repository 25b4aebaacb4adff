from overcast.common.migrations_env import run_migrations
from overcast.identity.models import Base

run_migrations(Base.metadata)
