"""What `create_server_app` settles for a long-lived server process: start-up's objects
frozen out of the collector's sight, and the collector's thresholds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import gc, json
from entrypoints.asgi import create_server_app
create_server_app()
print(json.dumps([gc.get_threshold(), gc.get_freeze_count()]))
"""


def test_a_server_process_settles_the_collector(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ZAKOPS_STORE": "memory",
        "ZAKOPS_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=tmp_path, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    threshold, frozen = json.loads(done.stdout.decode().splitlines()[-1])
    assert threshold == [20_000, 50, 100]
    assert frozen > 10_000  # start-up's objects are out of the collector's sight
