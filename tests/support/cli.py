"""The `workmode` console script as a real subprocess, for CLI tests."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support.paths import ROOT


def workmode_runner(env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess]:
    """`run(*args, stdin="", ok=True)`: run `workmode ARGS` with `env`; `ok` asserts exit code 0."""

    def run(*args: str, stdin: str = "", ok: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(Path(sys.executable).parent / "workmode"), *args], cwd=ROOT, env=env, input=stdin,
                              capture_output=True, text=True, timeout=120)
        if ok:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    return run
