"""`/healthz`: the process answers. `/readyz`: the database, the broker and the model server are
reachable, each checked at the same time with a short timeout; 503 names the ones that failed."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from services.api.schemas import Readiness
from services.config import get_settings
from services.model.check import cheap
from services.store.db import get_engine

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


def check_database(timeout: float) -> str:
    with get_engine().connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout * 1000)}"))
        conn.execute(text("SELECT 1"))
    return get_engine().dialect.name


def check_broker(timeout: float) -> str:
    url = get_settings().broker_url
    if url.startswith("memory://"):
        return "embedded (in process)"
    if url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
        return "redis"
    from kombu import Connection

    with Connection(url, connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=1)
    return conn.transport_cls


def check_model(timeout: float) -> str:
    """The cheap part of `workmode model check`: reachable with the key, and the model served."""
    s = get_settings()
    if not s.model_base_url:
        raise RuntimeError("WORKMODE_MODEL_BASE_URL is not set")
    results = cheap(s.model_base_url, s.model_name, s.model_api_key.get_secret_value(), timeout)
    failed = [r for r in results if r.status != "pass"]
    if failed:
        raise RuntimeError(f"{failed[0].name}: {failed[0].detail} ({failed[0].fix})")
    return f"{s.model_name} served"


CHECKS: dict[str, Callable[[float], str]] = {"database": check_database, "broker": check_broker, "model": check_model}


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz() -> JSONResponse:
    timeout = get_settings().ready_timeout_s
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz")
    futures = {name: pool.submit(fn, timeout) for name, fn in CHECKS.items()}
    checks: dict[str, dict] = {}
    for name, future in futures.items():
        try:
            checks[name] = {"ok": True, "detail": str(future.result(timeout=timeout + 1))}
        except FutureTimeout:
            checks[name] = {"ok": False, "detail": f"no answer within {timeout:g}s"}
        except Exception as exc:  # reported, not swallowed: the 503 names it
            checks[name] = {"ok": False, "detail": _safe(exc)}
    pool.shutdown(wait=False, cancel_futures=True)
    failed = [n for n, c in checks.items() if not c["ok"]]
    body = Readiness(status="unavailable" if failed else "ready", checks=checks, failed=failed)
    return JSONResponse(body.model_dump(), status_code=503 if failed else 200)


def _safe(exc: Exception) -> str:
    """An error line without credentials (URLs with passwords are cut to their scheme and host)."""
    message = f"{type(exc).__name__}: {exc}"
    secret = get_settings().model_api_key.get_secret_value()
    if secret and secret != "EMPTY":
        message = message.replace(secret, "***")
    import re

    return re.sub(r"://[^@/\s]+@", "://***@", message)[:300]
