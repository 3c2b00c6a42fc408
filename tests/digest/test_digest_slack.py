"""The digest as Slack messages: every message within Slack's documented Block Kit limits
(https://docs.slack.dev/reference/block-kit/blocks: at most 50 blocks a message; section text 3000
characters; button text 75, value 2000; block_id 255 and unique in a message; header 150), a long
digest paged over several messages with every proposal on exactly one of them, the low-risk button
once, and per-item buttons that are the ordinary approval buttons (same action ids, same values)."""
from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from services.digest.batch import fingerprint
from services.digest.build import build
from services.slackapp.approval_blocks import APPROVE, parse_button_value
from services.slackapp.digest import LOW_RISK, pages
from services.store.db import get_engine
from services.store.models import TriageItem, TriageRun
from tests.digest.support import NEWS, as_triage_job, thread, triage_run
from tests.fakes.model_server import text, tool_calls
from tests.support.jobs import actions, wait_status, wait_until

pytestmark = pytest.mark.usefixtures("settle")


def check_limits(blocks: list[dict]) -> None:
    assert len(blocks) <= 50
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids)) and all(len(i) <= 255 for i in ids)
    for b in blocks:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000
        if b["type"] == "header":
            assert b["text"]["type"] == "plain_text" and len(b["text"]["text"]) <= 150
        if b["type"] == "context":
            assert 1 <= len(b["elements"]) <= 10 and all(len(e["text"]) <= 3000 for e in b["elements"])
        if b["type"] == "actions":
            assert len(b["elements"]) <= 25
            names = [e["action_id"] for e in b["elements"]]
            assert len(names) == len(set(names))
            for e in b["elements"]:
                assert len(e["text"]["text"]) <= 75 and len(e["value"]) <= 2000


def test_small_digest_one_message(worker, workspace):
    _, people = workspace
    run = triage_run(worker, people["alex"])
    with Session(get_engine(), expire_on_commit=False) as s:
        d = build(s, s.get_one(TriageRun, run.run_id))
    (blocks, fallback), = pages(d, "http://127.0.0.1:8000/triage/x")
    check_limits(blocks)
    assert "3 emails" in json.dumps(blocks) and "3 proposals" in fallback
    low = [e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == LOW_RISK]
    assert len(low) == 1 and json.loads(low[0]["value"]) == {"r": run.run_id, "f": fingerprint(d.low_risk_pending)}
    approve = [parse_button_value(e["value"]) for b in blocks if b["type"] == "actions"
               for e in b["elements"] if e["action_id"] == APPROVE]
    assert {a for a, _ in approve} == {run.archive.id, run.labels.id, run.reply.id}
    assert (run.reply.id, run.reply.args_hash) in approve
    # Highest priority first: the escalation comes before the newsletters.
    dump = json.dumps(blocks)
    assert dump.index("URGENT") < dump.index("Weekly Byte")


def test_long_digest_is_paged(worker, workspace):
    _, people = workspace
    alex = people["alex"]
    news = thread(NEWS, alex.email)
    n = 40
    worker.push(tool_calls(*[("gmail_modify_labels", {"thread_id": news, "add": [f"L{i}"]}) for i in range(n)]))
    worker.set_default(text("Triage done."))
    from services.jobs.service import create_job

    with Session(get_engine(), expire_on_commit=False) as s:
        job = create_job(session=s, principal=alex, prompt="Triage my inbox", source="schedule")
        s.commit()
    wait_status(job.id, "waiting")
    proposed = wait_until(lambda: (lambda a: a if len(a) == n else None)(actions(job.id)), what="the proposals")
    as_triage_job(job.id)
    with Session(get_engine(), expire_on_commit=False) as s:
        run = TriageRun(principal_id=alex.id)
        s.add(run)
        s.flush()
        for i, a in enumerate(proposed):
            s.add(TriageItem(principal_id=alex.id, message_id=f"m{i}", thread_id=news, run_id=run.id, job_id=job.id,
                             sender="The Weekly Byte <newsletter@weeklybyte.example>", subject="x" * 5000,
                             reason="y" * 5000, category="newsletter", priority=["high", "low"][i % 2],
                             action_ids=[a.id]))
        s.commit()
        d = build(s, run)
    messages = pages(d)
    assert len(messages) > 1
    seen: list[str] = []
    for i, (blocks, fallback) in enumerate(messages, 1):
        check_limits(blocks)
        assert f"part {i} of {len(messages)}" in fallback
        seen += [parse_button_value(e["value"])[0] for b in blocks if b["type"] == "actions"
                 for e in b["elements"] if e["action_id"] == APPROVE]
    assert sorted(seen) == sorted(a.id for a in proposed)  # every proposal once, none lost to paging
    lows = [e for blocks, _ in messages for b in blocks if b["type"] == "actions" for e in b["elements"]
            if e["action_id"] == LOW_RISK]
    assert len(lows) == 1 and f"({n})" in lows[0]["text"]["text"]
    with Session(get_engine()) as s:
        assert len(s.exec(select(TriageItem)).all()) == n
