"""Named crash points for fault-injection tests: with WORKMODE_FAULT_POINT=<name>, the process
SIGKILLs itself when it reaches that point (as a power cut or OOM kill would). Off by default."""
from __future__ import annotations

import os
import signal

from services.config import get_settings

EXECUTE_BEFORE_CALL = "execute.before_call"
EXECUTE_AFTER_CALL = "execute.after_call"
EXECUTE_AFTER_COMMIT = "execute.after_commit"
STEP_AFTER_MODEL = "step.after_model"


def crash_point(name: str) -> None:
    if get_settings().fault_point == name:
        os.kill(os.getpid(), signal.SIGKILL)
