"""The short chaos run (bench/chaos.py, the one implementation): ~20 jobs of two or three
policy-approved writes, 4 real worker processes, ~30 SIGKILLs, one wiped Redis restart and
pg_terminate_backend three times. Nothing may be lost, nothing done twice, every job must end.
It runs as its own process (it sets WORKMODE_* for itself) on a private redis-server."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys

from tests.support.paths import ROOT
from tests.support.require import require


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_short_chaos_run_loses_nothing_and_does_nothing_twice(tmp_path):
    require(shutil.which("redis-server"), "the chaos run starts its own redis-server (apt install redis-server)")
    out = tmp_path / "chaos.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "chaos.py"), "--jobs", "20", "--kills", "30", "--workers", "4",
         "--redis-port", str(_free_port()), "--timeout", "120", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    summary = proc.stdout.strip().splitlines()[-3:]
    assert result["chaos"]["kills"] == 30, summary
    assert result["chaos"]["redis_restarts"] == 1, summary
    assert result["duplicates"] == 0, result["details"]
    assert result["lost"] == 0, result["details"]
    assert result["unfinished"] == 0, result["details"]
    assert result["mismatches"] == 0, result["details"]
    assert result["jobs"] == 20 and result["actions"] == 50, summary
