"""How the real OpenStack services run beside Overcast here (benchmarks, parity recordings):
standard library only, like the rest of bench/common."""

from __future__ import annotations

from pathlib import Path

__all__ = ["glance_uwsgi_ini"]


def glance_uwsgi_ini(port: int, venv: Path, config_dir: Path, *, quiet: bool = False) -> str:
    """Glance's own sample (httpd/glance-api-uwsgi.ini) with processes = 1 and, instead of
    `http =` (uWSGI's HTTP router, a proxy hop in front of the worker), http-socket: the worker
    speaks HTTP itself, as DevStack runs it. `quiet` turns off uWSGI's request log."""
    return f"""[uwsgi]
http-socket = 127.0.0.1:{port}
socket-timeout = 30
http-auto-chunked = true
http-chunked-input = true
http-raw-body = true
add-header = Connection: close
buffer-size = 65535
thunder-lock = true
lazy-apps = true
enable-threads = true
master = true
processes = 1
threads = 1
die-on-term = true
exit-on-reload = true
module = glance.wsgi.api:application
virtualenv = {venv}
env = OS_GLANCE_CONFIG_DIR={config_dir}
""" + ("disable-logging = true\n" if quiet else "")
