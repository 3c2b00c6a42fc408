"""A Slack post, settled by verify after the worker died, against a local Slack as strict as the
real one: chat:write.public lets the post into a public channel the app is not in, but only a
member can read the history that verify reads. The real engine, store, Celery worker and
reconciler; slack_sdk against tests/fakes/slack_web.py."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session

from connectors.registry import get_connector
from services.config import reset_settings
from services.credentials.access import tool_context
from services.jobs.service import create_job
from services.reconcile import reconcile
from services.store.db import get_engine
from services.store.models import Action, ActionStatus, Organisation, utcnow
from tests.fakes.model_server import text, tool_calls
from tests.fakes.slack_web import BOT_TOKEN, FakeSlack
from tests.support.jobs import actions, events, wait_status, wait_until

ALEX = "alex@northwind.example"
POST = ("slack_post", {"channel": "#general", "text": "The release is out."})


@pytest.fixture
def slack_world(worker, workspace, monkeypatch):
    org, people = workspace
    with FakeSlack() as slack:
        slack.add_user(ALEX, "Alex Morgan", user_id="U0ALEX")
        slack.general = slack.add_channel("general", member=False)  # public; the app never joined
        monkeypatch.setenv("WORKMODE_SLACK_BOT_TOKEN", BOT_TOKEN)
        monkeypatch.setenv("WORKMODE_SLACK_API_URL", slack.url)
        reset_settings()
        with Session(get_engine()) as s:
            row = s.get(Organisation, org.id)
            row.policy = {**row.policy, "connectors": {"chat": "slack"}}
            s.add(row)
            s.commit()
        yield people, slack, worker


def test_a_post_in_a_channel_the_app_was_not_in_is_found_after_a_crash(slack_world):
    """The worker posted, then died before recording it. The reconciler's verify finds the post
    (the app joined before posting, so it can read the channel) instead of ending in doubt, and
    reads from when execution began, not from when the action was proposed three days earlier."""
    people, slack, model = slack_world
    model.push(tool_calls(POST), text("Told #general."))
    with Session(get_engine(), expire_on_commit=False) as s:
        job_id = create_job(session=s, principal=people["alex"], prompt="Tell #general the release is out").id
        s.commit()
    wait_status(job_id, "waiting")
    (post,) = wait_until(lambda: [a for a in actions(job_id) if a.status == "pending"] or None, what="the post")
    assert slack.posted() == []

    tool = get_connector("slack").tools["slack_post"]
    with Session(get_engine()) as world:  # what the dead worker did: the call reached Slack
        tool.run(tool_context(session=world, principal_id=people["alex"].id, principal_email=ALEX,
                              org_id=people["alex"].org_id, job_id=job_id, action_id=post.id),
                 tool.parse(post.arguments))
    started = utcnow() - timedelta(minutes=30)
    with Session(get_engine()) as s:
        s.execute(update(Action).where(Action.id == post.id).values(
            status=ActionStatus.executing, approved_hash=post.args_hash, decided_by="policy", decided_via="policy",
            decided_at=started, executing_since=started, attempts=1, created_at=utcnow() - timedelta(days=3)))
        s.commit()

    counts = reconcile(executing_stale_s=0)
    assert counts.get("executing_succeeded") == 1, counts
    wait_status(job_id, "completed")
    (done,) = actions(job_id)
    (message,) = slack.posted(post.id)
    assert done.status == "succeeded" and done.result == {"channel": slack.general, "ts": message["ts"]}
    assert [e.action_id for e in events(job_id) if e.kind == "action_succeeded" and e.data.get("verified")] == \
        [post.id]
    assert len(slack.called("chat.postMessage")) == 1 and len(slack.called("conversations.join")) == 1
    oldest = float(slack.called("conversations.history")[-1]["oldest"])
    assert oldest == pytest.approx((started - timedelta(minutes=10)).timestamp(), abs=0.01)
