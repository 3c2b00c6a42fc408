"""HTTP mode: commands, interactivity and events on one URL, POST /slack/events, through bolt's
FastAPI adapter. Include `router` in the API app: `app.include_router(slack_router)`.

The signature and timestamp are checked on the raw bytes before anything parses the body (an
unsigned body, however deeply nested, is 401 and never read); bolt checks them again in dispatch.
The adapter's `handle` calls bolt's synchronous `dispatch` on the event loop; here dispatch runs
in the thread pool instead, so a slow Slack request never stalls the rest of the API."""
from __future__ import annotations

import json
from typing import Any, Optional

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi import SlackRequestHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk.signature import SignatureVerifier
from starlette.concurrency import run_in_threadpool

from services.config import get_settings
from services.slackapp.app import get_app
from services.slackapp.client import NotConfigured
from services.slackapp.common import log

router = APIRouter(tags=["slack"])


class ThreadedSlackRequestHandler(SlackRequestHandler):
    def __init__(self, app, signing_secret: str) -> None:
        super().__init__(app)
        self.verifier = SignatureVerifier(signing_secret)

    async def handle(self, req: Request, addition_context_properties: Optional[dict[str, Any]] = None) -> Response:
        body = await req.body()
        if not self.verifier.is_valid(body, req.headers.get("x-slack-request-timestamp", "0"),
                                      req.headers.get("x-slack-signature", "")):
            return JSONResponse({"error": "invalid request"}, status_code=401)  # bolt's own answer
        try:
            bolt_request = to_bolt_request(req, body, addition_context_properties)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # not JSON / UTF-8 / nested too deep
            return _malformed(exc)
        bolt_response = await run_in_threadpool(self.app.dispatch, bolt_request)
        if bolt_response.status == 404:  # signed, but no command, interaction or event we know
            return JSONResponse({"error": "not a Slack request Workmode handles: expected the /work command, "
                                          "an interaction payload or a subscribed event"}, status_code=404)
        return to_starlette_response(bolt_response)


def _malformed(exc: Exception) -> JSONResponse:
    detail = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
    log.warning("malformed Slack request: %s", exc)
    return JSONResponse({"error": f"malformed Slack request: the body could not be read ({detail})"}, status_code=400)


@router.post("/slack/events", include_in_schema=False)
async def slack_events(request: Request) -> Response:
    try:
        app = get_app()
    except NotConfigured as exc:
        return JSONResponse({"error": str(exc)}, status_code=503)
    secret = get_settings().slack_signing_secret.get_secret_value()  # set: get_app() checked
    return await ThreadedSlackRequestHandler(app, secret).handle(request)
