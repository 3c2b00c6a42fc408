"""One Settings object for the whole application (env prefix WORKMODE_)."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.secret_key import DEV_SECRET, weak_secret_key_reason

DEFAULT_HOME = Path.home() / ".workmode"
# The sandbox's demo user (Alex Morgan of Northwind Labs): whom the CLI acts for when neither --as nor
# WORKMODE_USER_EMAIL names someone. connectors/sandbox/seed.py imports it from here.
DEMO_EMAIL = "alex@northwind.example"
# Model names that `WORKMODE_MODEL_FAMILY=auto` takes for Mistral models (lower case, substrings).
MISTRAL_MODEL_MARKERS = ("mistral", "mixtral", "magistral", "devstral", "codestral", "pixtral", "ministral")


class SettingsInvalid(ValueError):
    """The settings do not validate. The message names each setting and the rule it breaks, never
    a value (pydantic's own message repeats the input, and with it other settings' secrets)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WORKMODE_", env_file=".env", extra="ignore")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
            return
        except ValidationError as exc:
            problems = _describe(exc)
        # Raised outside the except block, so the ValidationError (with the values) is not chained.
        raise SettingsInvalid(problems)

    environment: Literal["development", "test", "production"] = "development"
    home: Path = DEFAULT_HOME
    database_url: str = ""  # empty: SQLite file under `home`
    broker_url: str = "memory://"  # memory:// = embedded broker, worker runs inside the process
    secret_key: SecretStr = SecretStr(DEV_SECRET)

    # Who the CLI acts as (default: the sandbox's demo user).
    user_email: str = ""

    # Model service (OpenAI-compatible: vLLM in production).
    model_base_url: str = ""  # empty: the demo starts a local SmolLM2 server
    model_name: str = "mistralai/Mistral-Medium-3.5-128B"
    model_api_key: SecretStr = SecretStr("EMPTY")
    # How requests are shaped for the model. "mistral": all system messages merged into one at the
    # start (Mistral accepts only one) and every returned tool call given a fresh 9-character
    # alphanumeric id (Mistral's format). "generic": system messages sent where they are and the
    # server's tool-call ids kept (a fresh one only where the server gives none, or repeats one in
    # a turn). "auto": "mistral" when the model name names a Mistral model, else "generic".
    # JSON tool mode's instructions always join the first system message, in every family.
    model_family: Literal["auto", "mistral", "generic"] = "mistral"
    tool_mode: Literal["native", "json"] = "native"
    model_timeout_s: float = 120.0
    model_max_retries: int = 4
    model_backoff_base_s: float = 1.0
    model_backoff_max_s: float = 30.0
    model_max_concurrency: int = 16
    model_max_output_tokens: int = 2048
    model_slot_wait_s: float = 60.0  # longest wait for a free model request slot

    # Agent defaults.
    default_reasoning_effort: Literal["none", "high"] = "high"
    default_max_steps: int = 40
    default_max_tokens: int = 200_000
    default_deadline_s: int = 3600
    tool_result_max_chars: int = 4000
    plan_first: bool = True  # the first model turn must call update_plan
    step_slice_s: float = 30.0

    # Inbox triage (services/triage/): emails per classification request, the mail one run reads
    # at most, the window an expired cursor re-reads (and a first run's baseline), the Jira project
    # a bug report's ticket goes to and the Slack channel a forward goes to, unless a rule names one.
    triage_batch_size: int = Field(10, ge=1, le=50)
    triage_max_messages: int = Field(200, ge=1, le=2000)
    triage_resync_days: int = Field(7, ge=1, le=60)
    triage_initial_days: int = Field(1, ge=1, le=60)
    triage_body_chars: int = Field(1200, ge=100, le=20_000)  # of each email's text the model reads
    triage_jira_project: str = "OPS"
    triage_slack_channel: str = "#general"
    # A run still `classifying` this long after its claim lost its worker (the reconciler takes it
    # over); at least the task's hard time limit, so a live worker is never taken over.
    triage_stale_s: int = Field(1200, ge=1)
    triage_max_attempts: int = Field(3, ge=1, le=10)

    # Approvals and reliability.
    approval_ttl_s: int = 24 * 3600
    # Reminders (services/approvals/reminders.py); an organisation's policy may override each one
    # (policy["reminders"] = {"after_s": ..., "before_expiry_s": ..., "summary_hour": ...}; 0 or
    # null turns that one off). A pending approval nudges the people who may decide it once it has
    # waited `after_s`, and again `before_expiry_s` before it expires; every approver gets one
    # "waiting for you" summary a day, at `summary_hour` in their own time zone.
    reminder_after_s: int = 4 * 3600
    reminder_before_expiry_s: int = 2 * 3600
    reminder_summary_hour: int = 9
    running_lease_s: int = 300
    executing_stale_s: int = 900
    # A verify that may tell later (a search index catching up, a 5xx) is asked again on this many
    # reconciler ticks before the action settles as in_doubt.
    verify_deferrals: int = 5
    queued_stale_s: int = 120
    task_time_limit_s: int = 600
    fault_point: str = ""  # tests only: SIGKILL the process at this named crash point

    # Google (Gmail, Calendar): an OAuth 2.0 "web application" client from the Google Cloud console.
    google_client_id: str = ""
    google_client_secret: SecretStr = SecretStr("")
    google_redirect_url: str = ""  # e.g. https://workmode.example.com/oauth/google/callback
    google_api_base_url: str = ""  # empty: Google's hosts. Tests: one local server for APIs and OAuth.
    google_timeout_s: float = 30.0
    # Gmail push (users.watch → Pub/Sub → POST /gmail/push). The topic the mailboxes publish to, and
    # what the push endpoint accepts: Google-signed OIDC tokens for this audience (the subscription's
    # audience, by default the endpoint URL) from this service account. Empty audience: push is off.
    gmail_push_topic: str = ""  # projects/<project>/topics/<topic>
    gmail_push_audience: str = ""  # e.g. https://workmode.example.com/gmail/push
    gmail_push_service_account: str = ""  # the subscription's push service account email
    gmail_push_certs_url: str = "https://www.googleapis.com/oauth2/v3/certs"  # Google's JWKS; tests: local
    gmail_push_debounce_s: int = 60  # no new push-triggered triage within this long of the last one

    # Jira connector: the site, and a site-wide account used for people who have not connected
    # their own (`workmode connect jira`). Cloud: email + API token. Data Center: a PAT.
    jira_url: str = ""  # e.g. https://acme.atlassian.net or https://jira.acme.internal; empty: not configured
    jira_email: str = ""
    jira_api_token: SecretStr = SecretStr("")
    jira_pat: SecretStr = SecretStr("")
    jira_timeout_s: float = 30.0
    # Jira Cloud OAuth 2.0 (3LO): an app from developer.atlassian.com/console (`workmode connect jira --oauth`).
    jira_client_id: str = ""
    jira_client_secret: SecretStr = SecretStr("")
    jira_redirect_url: str = ""  # empty: public_url + /oauth/jira/callback
    atlassian_auth_url: str = "https://auth.atlassian.com"  # tests: a local fake (https, or http on this machine)
    atlassian_api_url: str = "https://api.atlassian.com"

    # Slack connector (the agent's slack_* tools): the bot token from the app installation.
    slack_bot_token: SecretStr = SecretStr("")  # xoxb-…; empty: not configured
    slack_api_url: str = "https://slack.com/api/"  # tests point this at a local Slack Web API
    slack_timeout_s: float = 30.0

    # Slack app (/work, approval buttons, App Home): same app and bot token as above, plus the
    # signing secret (HTTP mode, /slack/events) or an app-level token (Socket Mode, xapp-…).
    slack_signing_secret: SecretStr = SecretStr("")
    slack_app_token: SecretStr = SecretStr("")
    slack_update_interval_s: float = 1.0  # a job's thread message is edited at most this often

    # Web approval queue and REST API (`workmode api`).
    public_url: str = "http://127.0.0.1:8000"  # how people reach the web app (sign-in links, OIDC redirect)
    session_max_age_s: int = 12 * 3600  # a web session ends this long after sign-in, however active
    session_idle_timeout_s: int = 8 * 3600  # ... or after this long without a request
    api_token_default_days: int = 90  # a personal API token expires after this many days unless asked otherwise
    api_token_max_days: int = 365  # the longest lifetime a token may be given
    cookie_secure: bool | None = None  # None: Secure cookies in production only
    login_links: bool | None = None  # one-time sign-in links (`workmode login-link`); None: off in production
    login_link_ttl_s: int = 900
    oidc_issuer: str = ""  # e.g. https://accounts.google.com; empty: OpenID Connect sign-in is off
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_scopes: str = "openid email profile"
    ready_timeout_s: float = 2.0  # /readyz: per dependency

    # Metrics (services/metrics.py). The API serves /metrics; a Celery worker serves its own on this
    # port (0: off), gathering its pool processes' counters from files in `metrics_dir`.
    metrics_port: int = 0
    metrics_host: str = "0.0.0.0"
    metrics_dir: str = ""  # empty: a fresh temporary directory per worker

    # Vision: images tools return (e.g. Gmail image attachments) are shown to the model as image
    # input. False for a text-only model: the prompt notes how many images were left out.
    model_vision: bool = True

    # HTTP hardening (services/api/app.py: body limit, ratelimit.py, security.py).
    max_body_bytes: int = 1024 * 1024  # larger request bodies are answered 413 before they are read
    # Rate limits: `limits` notation, several joined by ";" (e.g. "10/minute;100/hour"); empty: none.
    rate_limits: bool = True
    rate_limit_storage_url: str = ""  # redis://…; empty: the broker's Redis, or this process's memory
    rate_limit_sign_in: str = "20/minute"  # per IP: sign-in link pages and uses, OIDC start and callback
    rate_limit_auth_failures: str = "10/minute"  # per IP: requests with a bad API token (401)
    rate_limit_slack: str = "600/minute"  # per IP: POST /slack/events
    rate_limit_api_ip: str = "3000/minute"  # per IP: /api/*
    rate_limit_api: str = "1200/minute"  # per principal: /api/*
    # GET /metrics in production needs `Authorization: Bearer <metrics_token>`; no token: /metrics is off.
    metrics_token: SecretStr = SecretStr("")

    @model_validator(mode="after")
    def _secret_outside_development(self) -> Settings:
        if self.environment == "production":
            reason = weak_secret_key_reason(self.secret_key.get_secret_value())
            if reason:
                raise ValueError(f"WORKMODE_SECRET_KEY: {reason} (WORKMODE_ENVIRONMENT=production)")
        return self

    @model_validator(mode="after")
    def _positive_lifetimes(self) -> Settings:
        for name in ("session_max_age_s", "session_idle_timeout_s", "api_token_default_days", "api_token_max_days"):
            if getattr(self, name) <= 0:
                raise ValueError(f"WORKMODE_{name.upper()}: must be a positive number")
        if self.api_token_default_days > self.api_token_max_days:
            raise ValueError("WORKMODE_API_TOKEN_DEFAULT_DAYS: must not exceed WORKMODE_API_TOKEN_MAX_DAYS")
        return self

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'workmode.db'}"

    @property
    def mistral_rules(self) -> bool:
        """Whether requests follow Mistral's rules (see `model_family`)."""
        if self.model_family == "auto":
            name = self.model_name.lower()
            return any(marker in name for marker in MISTRAL_MODEL_MARKERS)
        return self.model_family == "mistral"

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url.startswith("memory://")


def _describe(exc: ValidationError) -> str:
    """One line per problem: the setting's variable and the rule, with no input value."""
    lines = []
    for err in exc.errors(include_url=False, include_context=False, include_input=True):
        loc = [str(part) for part in err.get("loc", ())]
        message = str(err.get("msg", "invalid"))
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        message = _without_inputs(message, err.get("input"))
        lines.append(f"WORKMODE_{loc[0].upper()}: {message}" if loc else message)
    return "invalid settings:\n" + "\n".join(f"  {line}" for line in lines)


def _without_inputs(message: str, given: object) -> str:
    """Belt and braces: cut a value that a message repeats anyway (the field's own input, or any
    secret setting's when the rule is about the whole model)."""
    if isinstance(given, dict):
        secret = {name for name, f in Settings.model_fields.items() if f.annotation is SecretStr}
        values = [v for k, v in given.items() if k in secret]
    else:
        values = [given]
    for value in values:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and len(text) >= 3 and text in message:
            message = message.replace(text, "[value hidden]")
    return message


_lock = threading.Lock()
_cached: Settings | None = None
_generation = 0  # bumped by every reset


def get_settings() -> Settings:
    """The settings, read from the environment once and kept until `reset_settings`. A read that a
    reset overtook (another thread changed the environment meanwhile) is returned but not kept, so
    the next caller reads the environment as it is now."""
    global _cached
    with _lock:
        settings, generation = _cached, _generation
    if settings is not None:
        return settings
    settings = Settings()
    with _lock:
        if generation == _generation and _cached is None:
            _cached = settings
    return settings


def reset_settings() -> None:
    """Forget the settings read so far (after the environment changed: tests, the eval harness)."""
    global _cached, _generation
    with _lock:
        _cached, _generation = None, _generation + 1
