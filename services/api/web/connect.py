"""Web routes to connect and disconnect accounts (Google and Jira OAuth, Jira and Slack tokens).

The API app includes `make_router(current_principal)`, passing its own dependency that resolves
the signed-in principal. Every route that makes a new grant (the OAuth callbacks, POST
/connect/jira and /connect/slack) resumes the person's jobs paused for a reconnect in the same
transaction. The Google callback does not need a web session: the single-use state
names the principal, and the connected Google account must be that principal's own address, so
the flow also completes when it was started from the CLI (`workmode connect google`). The Jira
OAuth callback works the same way (`workmode connect jira --oauth`); a Jira flow started here is
also bound to this browser by a short-lived cookie (JIRA_BROWSER_COOKIE), so its state cannot be
completed from another browser session.
"""
from __future__ import annotations

import html
import secrets
from collections.abc import Callable, Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session

from connectors.google.config import CALLBACK_PATH, CONNECT_PATH, GoogleNotConfigured
from services.agent.reconnect import resume_after_reconnect
from services.config import get_settings
from services.credentials import google_oauth, jira_oauth
from services.credentials import service as store
from services.credentials.forms import JiraConnect, SlackConnect
from services.credentials.oauth_state import STATE_TTL_S
from services.store.db import get_engine
from services.store.models import Principal


def get_session() -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
JIRA_BROWSER_COOKIE = "workmode_jira_oauth"


def _secure_cookies() -> bool:
    s = get_settings()
    return s.cookie_secure if s.cookie_secure is not None else s.environment == "production"


def _page(title: str, text: str, status: int = 200) -> HTMLResponse:
    body = (f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<main style='font-family:sans-serif;max-width:40em;margin:3em auto'><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(text)}</p></main>")
    return HTMLResponse(body, status_code=status)


def _forget_browser(response: HTMLResponse) -> HTMLResponse:
    response.delete_cookie(JIRA_BROWSER_COOKIE, path=jira_oauth.CALLBACK_PATH, httponly=True, samesite="lax",
                           secure=_secure_cookies())
    return response


def make_router(current_principal: Callable[..., Principal]) -> APIRouter:
    """Routes: GET /connect/google, GET /oauth/google/callback, GET /connect/jira/oauth, GET
    /oauth/jira/callback, POST /connect/jira, POST
    /connect/slack, POST /disconnect/{provider}, GET /connections."""
    router = APIRouter(tags=["connections"])
    me_dep = Depends(current_principal)  # (a local Annotated alias would not resolve: annotations are strings)

    @router.get(CONNECT_PATH, summary="Start connecting a Google account (redirects to Google)")
    def connect_google(session: SessionDep, me: Principal = me_dep) -> RedirectResponse:
        try:
            url = google_oauth.start(session=session, principal=me)
        except GoogleNotConfigured as exc:
            raise HTTPException(503, exc.message) from None
        session.commit()
        return RedirectResponse(url, status_code=303)

    @router.get(CALLBACK_PATH, summary="Google sends the person back here", response_class=HTMLResponse)
    def google_callback(session: SessionDep, state: str = "", code: str = "", error: str = "") -> HTMLResponse:
        try:
            done = google_oauth.finish(session=session, state=state, code=code, error=error)
        except google_oauth.OAuthError as exc:
            session.commit()  # the pending attempt is used up either way
            return _page("Google was not connected", str(exc), 400)
        except GoogleNotConfigured as exc:
            return _page("Google is not configured", exc.message, 503)
        resume_after_reconnect(session, done["principal_id"])
        session.commit()
        note = ""
        if done["missing_scopes"]:
            note = (" Some permissions were not granted, so some tools will be refused: "
                    + ", ".join(done["missing_scopes"]) + ". Connect again and allow them.")
        return _page("Google connected", f"Workmode can now use {done['account']}'s Gmail and Calendar, "
                     f"always with your approval for changes. You can close this window.{note}")

    @router.get(jira_oauth.CONNECT_PATH, summary="Start connecting Jira Cloud with OAuth (redirects to Atlassian)")
    def connect_jira_oauth(session: SessionDep, me: Principal = me_dep) -> RedirectResponse:
        browser = secrets.token_urlsafe(32)
        try:
            url = jira_oauth.start(session=session, principal=me, browser=browser)
        except jira_oauth.JiraNotConfigured as exc:  # an optional way in: absent here, not a server fault
            raise HTTPException(404, exc.message) from None
        session.commit()
        response = RedirectResponse(url, status_code=303)
        # Lax: sent on the top-level navigation back from Atlassian, never on cross-site subrequests.
        response.set_cookie(JIRA_BROWSER_COOKIE, browser, max_age=STATE_TTL_S, path=jira_oauth.CALLBACK_PATH,
                            httponly=True, samesite="lax", secure=_secure_cookies())
        return response

    @router.get(jira_oauth.CALLBACK_PATH, summary="Atlassian sends the person back here", response_class=HTMLResponse)
    def jira_callback(request: Request, session: SessionDep, state: str = "", code: str = "",
                      error: str = "") -> HTMLResponse:
        try:
            done = jira_oauth.finish(session=session, state=state, code=code, error=error,
                                     browser=request.cookies.get(JIRA_BROWSER_COOKIE))
        except jira_oauth.OAuthError as exc:
            session.commit()  # the pending attempt is used up either way
            # The binding cookie stays: a forged state leaves the real attempt in place, and the
            # cookie expires with it.
            return _page("Jira was not connected", str(exc), 400)
        except jira_oauth.JiraNotConfigured as exc:
            return _page("Jira OAuth is not configured", exc.message, 404)
        resume_after_reconnect(session, done["principal_id"])
        session.commit()
        return _forget_browser(_page("Jira connected", f"Workmode can now use Jira at {done['site_url']} as you, "
                                     "always with your approval for changes. You can close this window."))

    @router.post("/connect/jira", status_code=204, summary="Store a Jira API token or personal access token")
    def connect_jira(body: JiraConnect, session: SessionDep, me: Principal = me_dep) -> None:
        body.check_destination(session, me.org_id)
        store.save(session=session, principal_id=me.id, provider="jira", secret=body.secret())
        resume_after_reconnect(session, me.id)
        session.commit()

    @router.post("/connect/slack", status_code=204, summary="Store a Slack bot token")
    def connect_slack(body: SlackConnect, session: SessionDep, me: Principal = me_dep) -> None:
        store.save(session=session, principal_id=me.id, provider="slack",
                   secret={"bot_token": body.bot_token.get_secret_value()})
        resume_after_reconnect(session, me.id)
        session.commit()

    @router.post("/disconnect/{provider}", summary="Forget (and for Google, revoke) a connection")
    def disconnect(provider: Literal["google", "jira", "slack"], session: SessionDep, me: Principal = me_dep) -> dict:
        if provider == "google":
            removed = google_oauth.disconnect(session=session, principal_id=me.id)
        else:
            removed = store.delete(session=session, principal_id=me.id, provider=provider)
        session.commit()
        return {"provider": provider, "removed": removed}

    @router.get("/connections", summary="Which accounts are connected (no secrets)")
    def connections(session: SessionDep, me: Principal = me_dep) -> list[dict]:
        return store.connections(session=session, principal_id=me.id)

    return router
