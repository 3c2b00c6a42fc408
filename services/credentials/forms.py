"""The validated forms of connecting an account with a token (POST /connect/jira and
/connect/slack, `workmode connect jira|slack`): both the API and the CLI take them from here."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator


class JiraConnect(BaseModel):
    url: str = Field(..., description="Jira site, e.g. https://acme.atlassian.net")
    email: str = Field("", description="Account email (Jira Cloud API token).")
    api_token: SecretStr | None = Field(None, description="Jira Cloud API token (with email).")
    pat: SecretStr | None = Field(None, description="Jira Data Center personal access token.")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v.strip())
        local = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if not parts.hostname or (parts.scheme != "https" and not (parts.scheme == "http" and local)):
            raise ValueError("must be an https URL such as https://acme.atlassian.net")
        return v.strip().rstrip("/")

    @model_validator(mode="after")
    def _one(self) -> JiraConnect:
        if bool(self.api_token) == bool(self.pat):
            raise ValueError("give either email + api_token (Cloud) or pat (Data Center)")
        if self.api_token and "@" not in self.email:
            raise ValueError("an API token needs the account's email")
        return self

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
