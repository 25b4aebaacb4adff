import overcast.image.metadef_models  # noqa: F401
from overcast.common.migrations_env import run_migrations
from overcast.image.models import Base

run_migrations(Base.metadata)
