#!/usr/bin/env bash
# Install the test dependencies and run every test: lint, import contracts, types (mypy), unit,
# functional (SQLite, MariaDB, PostgreSQL; alembic check; the OpenAPI property-based run),
# integration, compat (real openstack CLI/SDK) and tempest's interop list.
# OVERCAST_REQUIRE_SERVICES=1 (CI) turns a missing MariaDB/PostgreSQL/RabbitMQ/QEMU into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test

echo "== ruff"
.venv/bin/ruff check .
echo "== import contracts"
.venv/bin/lint-imports
echo "== types (mypy, configured in pyproject.toml)"
.venv/bin/mypy

echo "== pytest"
# In parallel processes (pytest-xdist): most tests wait on databases, clouds and clients, so
# four workers keep two cores busy. A file runs on one worker (tests/conftest.py work_unit);
# OVERCAST_TEST_WORKERS=0 runs everything in this process.
workers="${OVERCAST_TEST_WORKERS:-4}"
set +e
.venv/bin/python -m pytest -p no:cacheprovider -q -ra --durations=25 -n "$workers" "$@"
rc=$?
set -e
# pytest's 5 means no test ran: that is a failure here, never a pass.
if [[ $rc -eq 5 ]]; then echo "no tests ran"; exit 1; fi
exit $rc
