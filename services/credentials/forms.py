"""The validated forms of connecting an account with a token (POST /connect/jira and
/connect/slack, `workmode connect jira|slack`): both the API and the CLI take them from here."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from sqlmodel import Session

from connectors import net
from services.config import get_settings
from services.errors import Invalid


class JiraConnect(BaseModel):
    url: str = Field(..., description="Jira site, e.g. https://acme.atlassian.net")
    email: str = Field("", description="Account email (Jira Cloud API token).")
    api_token: SecretStr | None = Field(None, description="Jira Cloud API token (with email).")
    pat: SecretStr | None = Field(None, description="Jira Data Center personal access token.")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return net.check_shape(v)  # https, no userinfo, query or fragment

    @model_validator(mode="after")
    def _one(self) -> JiraConnect:
        if bool(self.api_token) == bool(self.pat):
            raise ValueError("give either email + api_token (Cloud) or pat (Data Center)")
        if self.api_token and "@" not in self.email:
            raise ValueError("an API token needs the account's email")
        return self

    def check_destination(self, session: Session, org_id: str) -> None:
        """Refuse a site that resolves to an address that is not public (loopback, private,
        link-local, the cloud metadata service, ...) unless the operator configured it
        (WORKMODE_JIRA_URL) or the organisation's admin allowed its host (policy "allowed_hosts").
        A name that does not resolve now is kept: every request checks again."""
        s = get_settings()
        allowed = net.admin_hosts(session, org_id, s.jira_url, s.atlassian_api_url)
        try:
            net.check_destination(self.url, allowed, unresolved_ok=True)
        except net.Refused as exc:
            raise Invalid(exc.message, field="url") from None

    def secret(self) -> dict[str, Any]:
        if self.api_token:
            return {"url": self.url, "email": self.email.strip().lower(),
                    "api_token": self.api_token.get_secret_value()}
        assert self.pat is not None  # _one: without an API token, a PAT was given
        return {"url": self.url, "pat": self.pat.get_secret_value()}


class SlackConnect(BaseModel):
    bot_token: SecretStr = Field(..., description="Bot User OAuth Token from the Slack app (xoxb-…).")

    @field_validator("bot_token")
    @classmethod
    def _bot(cls, v: SecretStr) -> SecretStr:
        if not v.get_secret_value().startswith("xoxb-"):
            raise ValueError("a Slack bot token starts with xoxb-")
        return v
