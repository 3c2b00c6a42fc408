"""`create_app()`: the REST API (OpenAPI at /openapi.json) and the web approval queue, one app.

Production closes what need not be public: the OpenAPI schema needs a signed-in caller (token or
session), /metrics needs WORKMODE_METRICS_TOKEN (security.metrics_guard), and responses carry
HSTS. Everywhere: bodies over WORKMODE_MAX_BODY_BYTES get 413 (FastAPI's max_body_size, checked
from Content-Length before the body is read and counted while a chunked body streams), and the
rate limits of services/api/ratelimit.py apply."""
from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from services.api import (
    errors,
    gmail_push,
    health,
    ratelimit,
    rest_admin,
    rest_approvals,
    rest_jobs,
    rest_schedules,
    rest_tokens,
)
from services.api.deps import ApiUser, api_principal
from services.api.metrics import metrics_router
from services.api.security import RejectNul, SecurityHeaders, metrics_guard
from services.api.web import admin_pages, approval, auth, jobs, oidc, queue, settings_page, triage
from services.api.web.connect import make_router as connections_router
from services.api.web.templating import render_error
from services.config import get_settings
from services.slackapp.http import router as slack_router

STATIC = Path(__file__).resolve().parent / "static"
SESSION_COOKIE = "workmode_session"


def create_app() -> FastAPI:
    s = get_settings()
    production = s.environment == "production"
    app = FastAPI(
        title="Workmode", version="0.1.0", docs_url=None, redoc_url=None,
        openapi_url=None if production else "/openapi.json", max_body_size=s.max_body_bytes,
        description="Ask for work, follow it, and decide the actions it proposes. Authenticate with a personal "
                    "API token: `Authorization: Bearer wm_...` (create one in Settings or with "
                    "`workmode tokens create`). Errors are JSON: `{\"error\": {\"status\", \"message\", \"field\"}}`.",
    )
    secure = s.cookie_secure if s.cookie_secure is not None else s.environment == "production"
    app.add_middleware(SessionMiddleware, secret_key=s.secret_key.get_secret_value() + ":web-session",
                       session_cookie=SESSION_COOKIE, max_age=s.session_max_age_s, same_site="lax",
                       https_only=secure)
    app.add_middleware(RejectNul)
    app.add_middleware(ratelimit.RateLimit, limits=ratelimit.install(app))
    app.add_middleware(SecurityHeaders, hsts=production)
    errors.install(app, render_html=render_error)
    for module in (health, auth, oidc, queue, approval, jobs, settings_page, triage, admin_pages):
        app.include_router(module.router)
    for module in (rest_jobs, rest_approvals, rest_tokens, rest_admin, rest_schedules):  # /api/*: also per principal
        app.include_router(module.router, dependencies=[Depends(ratelimit.limit_principal)])
    # Connect / disconnect outside accounts (Google OAuth, Jira, Slack): a token or the session (+ CSRF header).
    app.include_router(connections_router(api_principal))
    # GET /metrics (Prometheus), outside the OpenAPI schema; a bearer token, or closed, in production.
    app.include_router(metrics_router(), dependencies=[Depends(metrics_guard(s))])
    if production:
        @app.get("/openapi.json", include_in_schema=False)
        def openapi(me: ApiUser) -> JSONResponse:
            return JSONResponse(app.openapi())
    app.include_router(gmail_push.router)  # POST /gmail/push: Pub/Sub pushes, signed by Google (OIDC)
    app.include_router(slack_router)  # POST /slack/events: commands, interactivity, events (signed by Slack)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
