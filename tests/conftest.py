"""Shared fixtures: the real PostgreSQL and SQLite stores, real Redis, environment isolation, and
the engine's: a seeded sandbox workspace, fast model retries, an embedded worker; and those that
several areas share: the API app and a client, a second organisation and `settle` (web, digest),
and Workmode configured for Slack against the local Slack API (`slack`: slack, schedules, digest).

`store` is parametrised over both backends: a test that takes it runs on SQLite and PostgreSQL.
Each backend's database is created and migrated once per test session (`workmode db upgrade`'s
code path), and every table is emptied before each test.
"""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from celery.signals import before_task_publish
from sqlmodel import Session, col, select

# The suite never depends on the shell it runs in: WORKMODE_* variables are cleared before any
# Workmode module reads them (WORKMODE_TEST_* say where the test databases are, and stay). In
# particular the Celery app (services.broker) is bound here, once, to the embedded broker; tests
# that need Redis send to it explicitly (services.broker.send_task).
for _key in [k for k in os.environ if k.startswith("WORKMODE_") and not k.startswith("WORKMODE_TEST_")]:
    del os.environ[_key]
# Every Workmode import below comes after that reset on purpose, hence each line's E402.
import workers.app  # noqa: E402,F401  (after the env reset; binds the Celery app to the embedded broker)
from connectors.sandbox import models as sandbox_models  # noqa: E402,F401  (after the env reset; registers its tables)
from services.config import reset_settings  # noqa: E402  (after the env reset)
from services.store import models  # noqa: E402,F401  (after the env reset; registers its tables)
from services.store.db import dispose_engines, get_engine  # noqa: E402  (after the env reset)
from services.store.models import Action, Job, Organisation, Principal  # noqa: E402  (after the env reset)
from tests.support.db import PG_ADMIN_URL, REDIS_URL, use_database  # noqa: E402  (after the env reset)
from tests.support.jobs import wait_until  # noqa: E402  (after the env reset)
from tests.support.oidc import CLIENT_ID, CLIENT_SECRET, LocalIdP  # noqa: E402  (after the env reset)
from tests.support.require import fail_skip_in_ci  # noqa: E402  (after the env reset, with the imports above)

# The fakes that bring fixtures (pytest_plugins may only be set here, in the root conftest).
pytest_plugins = ["tests.fakes.model_server", "tests.fakes.google_api", "tests.fakes.jira_api",
                  "tests.fakes.atlassian_auth", "tests.fakes.slack_web", "tests.fakes.slack_api"]

# Nothing in the test run may reach a real model endpoint: every test that needs a model starts
# the scripted server in tests/fakes and points WORKMODE_MODEL_BASE_URL at it.
_GUARD_MODEL_URL = "http://127.0.0.1:9/unreachable-real-model-guard/v1"


# Under CI nothing is skipped: a skip there (a missing tool, a plugin's, a forgotten one) fails the
# test with its reason, the rule tests/support/require.py gives the requirements it checks.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    fail_skip_in_ci((yield).get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    fail_skip_in_ci((yield).get_result())


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("WORKMODE_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("WORKMODE_ENVIRONMENT", "test")
    monkeypatch.setenv("WORKMODE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WORKMODE_MODEL_BASE_URL", _GUARD_MODEL_URL)
    monkeypatch.setenv("OPENAI_API_KEY", "guard")
    reset_settings()
    yield
    reset_settings()
    dispose_engines()


@pytest.fixture(autouse=True)
def _settled_worker(_isolated_env):
    """Tasks run when a worker takes them and read the settings then: before this test's settings
    are undone, what it left (a task in hand, queued, or held for a countdown) ends or is dropped,
    so none of it runs against the next test's store (the session's embedded worker is shared, and
    the in-process queues outlive the test that filled them)."""
    yield
    from workers.embedded import quiesce

    assert quiesce(), "a task of this test was still running on the embedded worker 20 s after it ended"


@pytest.fixture(scope="session")
def pg_url():
    name = f"workmode_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'workmode.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, monkeypatch):
    """A migrated, empty job store on each backend. Yields the database URL."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    yield use_database(url, monkeypatch)
    dispose_engines()


@pytest.fixture
def pg_store(pg_url, monkeypatch):
    """PostgreSQL only (tests that need a real worker process and Redis)."""
    yield use_database(pg_url, monkeypatch)
    dispose_engines()


@pytest.fixture
def redis_url():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def sent(redis_url, monkeypatch):
    """(task name, args) of every task published while the test runs. They go to Redis, where no
    worker listens (this process's embedded worker takes the in-process queues): the tests look at
    what was sent, and nothing runs it."""
    tasks: list[tuple[str, list]] = []

    def record(sender=None, body=None, **_kw):
        args = body[0] if isinstance(body, (list, tuple)) else (body or {}).get("args", [])
        tasks.append((sender, list(args)))

    monkeypatch.setenv("WORKMODE_BROKER_URL", redis_url)
    reset_settings()
    before_task_publish.connect(record, weak=False)
    yield tasks
    before_task_publish.disconnect(record)


@pytest.fixture
def workspace(store):
    from connectors.sandbox.seed import seed_workspace

    with Session(get_engine(), expire_on_commit=False) as s:
        org = seed_workspace(s)
        s.commit()
        people = {p.email.split("@")[0]: p for p in s.exec(select(Principal))}
    return org, people


@pytest.fixture
def fast_model(monkeypatch):
    """Tiny backoffs so retry paths run quickly."""
    monkeypatch.setenv("WORKMODE_MODEL_BACKOFF_BASE_S", "0.01")
    monkeypatch.setenv("WORKMODE_MODEL_BACKOFF_MAX_S", "0.05")
    monkeypatch.setenv("WORKMODE_MODEL_MAX_RETRIES", "2")
    monkeypatch.setenv("WORKMODE_MODEL_TIMEOUT_S", "2")
    # Scripts say which turn comes first; tests of the plan-first rule turn it back on.
    monkeypatch.setenv("WORKMODE_PLAN_FIRST", "false")
    reset_settings()


@pytest.fixture(scope="session")
def embedded():
    """A real Celery worker (solo pool) in a thread of this process, on the embedded broker.
    Shared by the tests: tasks read the settings and the store at run time."""
    from workers.embedded import embedded_worker

    with embedded_worker():
        yield


@pytest.fixture
def worker(embedded, workspace, scripted_model, fast_model):
    yield scripted_model


@pytest.fixture
def idp(monkeypatch):
    """A local OpenID Connect identity provider, configured as the organisation's sign-in."""
    server = LocalIdP()
    monkeypatch.setenv("WORKMODE_OIDC_ISSUER", server.url)
    monkeypatch.setenv("WORKMODE_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("WORKMODE_OIDC_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("WORKMODE_PUBLIC_URL", "http://127.0.0.1")
    reset_settings()
    yield server
    server.stop()


@pytest.fixture
def atl(store, fake_jira, fake_atlassian, monkeypatch):
    """Jira Cloud behind Atlassian's OAuth (fakes): Alex and Dana in one organisation; the OAuth
    client and Atlassian's hosts point at the fakes."""
    from tests.fakes.atlassian_auth import CLIENT_ID as JIRA_CLIENT_ID
    from tests.fakes.atlassian_auth import CLIENT_SECRET as JIRA_CLIENT_SECRET

    alex, dana = "alex@northwind.example", "dana@northwind.example"
    for email, name in ((alex, "Alex Morgan"), (dana, "Dana Kim")):
        fake_jira.add_user(email, name)
    fake_jira.add_issue("OPS", "Printer on fire", reporter=dana)
    fake_atlassian.consent_as = alex
    for key, value in {"JIRA_CLIENT_ID": JIRA_CLIENT_ID, "JIRA_CLIENT_SECRET": JIRA_CLIENT_SECRET,
                       "ATLASSIAN_AUTH_URL": fake_atlassian.url, "ATLASSIAN_API_URL": fake_atlassian.url}.items():
        monkeypatch.setenv(f"WORKMODE_{key}", value)
    reset_settings()
    with Session(get_engine()) as s:
        org = Organisation(name="Northwind", domains=["northwind.example"], policy={})
        s.add(org)
        s.flush()
        s.add_all([Principal(org_id=org.id, email=alex, name="Alex", time_zone="Europe/London"),
                   Principal(org_id=org.id, email=dana, name="Dana", time_zone="UTC")])
        s.commit()
    return fake_atlassian


# ---------------------------------------------------------------- the web app (tests/web, digest, …)
@pytest.fixture
def settle(workspace, scripted_model):
    """After the test, wait until the embedded worker has nothing in hand, so that it does not
    write into the next test's freshly emptied tables. (It holds the scripted model, so the model
    is still there while the last jobs finish.) Autouse in tests/web; other modules that start
    work ask for it."""
    yield

    def quiet():
        with Session(get_engine()) as s:
            busy_jobs = s.exec(select(Job.id).where(col(Job.status).in_(["queued", "running"]))).first()
            busy_actions = s.exec(select(Action.id).where(col(Action.status).in_(["approved", "executing"]))).first()
            return busy_jobs is None and busy_actions is None

    wait_until(quiet, timeout=30, what="the worker to finish its work")


@pytest.fixture
def other_org(workspace) -> Principal:
    """Globex, a second organisation with its own approver, Eve."""
    with Session(get_engine(), expire_on_commit=False) as s:
        org = Organisation(name="Globex", domains=["globex.example"], policy={"approvers": ["eve@globex.example"]})
        s.add(org)
        s.flush()
        eve = Principal(org_id=org.id, email="eve@globex.example", name="Eve Globex", roles=["approver"],
                        time_zone="Asia/Tokyo")
        s.add(eve)
        s.commit()
        return eve


@pytest.fixture
def app(workspace):
    from services.api.app import create_app

    return create_app()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


# ---------------------------------------------------------------- Slack (tests/slack, schedules, digest)
@pytest.fixture
def slack(slack_api, monkeypatch):
    """Workmode configured for Slack against the fake Web API (`slack_api`, tests/fakes/slack_api.py),
    with /slack/events mounted on a plain FastAPI app (the router the API app includes), driven by
    a signing SlackSender."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from services.config import get_settings
    from services.slackapp.http import router
    from services.slackapp.identity import clear_cache
    from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, SlackSender, SlackWorld

    monkeypatch.setenv("WORKMODE_SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("WORKMODE_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("WORKMODE_SLACK_API_URL", slack_api.api_url)
    monkeypatch.setenv("WORKMODE_SLACK_UPDATE_INTERVAL_S", "0")
    for _ in range(50):  # a worker thread may cache settings read just before the env changed
        reset_settings()
        if get_settings().slack_api_url == slack_api.api_url:
            break
    clear_cache()
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as http:
        yield SlackWorld(slack_api, SlackSender(http, SIGNING_SECRET, slack_api), http)
    clear_cache()
