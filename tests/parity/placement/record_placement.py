"""Record the real Placement's answers to tests/parity/placement/steps.py.

    .venv/bin/python tests/parity/placement/record_placement.py

Installs openstack-placement==16.0.0 from PyPI into ~/.cache/overcast-bench/placement-venv
(bench/'s virtualenvs; made once), starts it on a free loopback port with a fresh SQLite
database and `[api] auth_strategy = noauth2` (no Keystone needed: the token "admin" is an
administrator; nothing recorded here is about authentication), runs every step, and writes
placement.recording.json beside this file. Never run in CI; never edit the recording by hand.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import proc  # noqa: E402
from tests.parity.placement.steps import STEPS, shape  # noqa: E402

SPEC = "openstack-placement==16.0.0"
VENV = Path.home() / ".cache" / "overcast-bench" / "placement-venv"
RECORDING = Path(__file__).with_name("placement.recording.json")
SERVE = """
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server
from placement.wsgi.api import application

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

make_server("127.0.0.1", int(sys.argv[1]), application, handler_class=Quiet).serve_forever()
"""


def main() -> int:
    proc.ensure_venv(VENV, ["placement-manage"], [SPEC, "keystonemiddleware"], reinstall=False,
                     say=print)
    version = subprocess.run([str(VENV / "bin" / "python"), "-c",
                              "from importlib.metadata import version; "
                              "print(version('openstack-placement'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="placement-parity-"))
    try:
        (work / "placement.conf").write_text(
            f"[api]\nauth_strategy = noauth2\n[placement_database]\n"
            f"connection = sqlite:///{work / 'placement.sqlite'}\n")
        subprocess.run([str(VENV / "bin" / "placement-manage"), "--config-file",
                        str(work / "placement.conf"), "db", "sync"], check=True)
        (work / "serve.py").write_text(SERVE)
        port = proc.free_port()
        server = subprocess.Popen([str(VENV / "bin" / "python"), str(work / "serve.py"),
                                   str(port)], env={"OS_PLACEMENT_CONFIG_DIR": str(work),
                                                    "PATH": "/usr/bin:/bin"},
                                  stdout=(work / "serve.log").open("wb"),
                                  stderr=subprocess.STDOUT)
        try:
            proc.wait_http(f"http://127.0.0.1:{port}/", proc=server, log=work / "serve.log")
            answers = []
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
                for method, path, body, mv in STEPS:
                    headers = {"X-Auth-Token": "admin", "Accept": "application/json",
                               "OpenStack-API-Version": f"placement {mv or 'latest'}"}
                    r = http.request(method, path, headers=headers,
                                     **({"json": body} if body is not None else {}))
                    parsed = r.json() if r.content else None
                    answers.append({"request": f"{method} {path} mv={mv or 'latest'}",
                                    **shape(r.status_code, parsed)})
        finally:
            server.terminate()
            server.wait(timeout=20)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    RECORDING.write_text(json.dumps({"recorded_against": {"openstack-placement": version},
                                     "answers": answers}, indent=1) + "\n")
    print(f"recorded {len(answers)} answers of placement {version} in {RECORDING}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
