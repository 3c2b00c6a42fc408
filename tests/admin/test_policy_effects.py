"""The organisation's policy takes effect on its jobs (issue 13, part 3): the approval time limit
sets when a job's approval expires, and the default reasoning effort is the `reasoning_effort`
the model server receives, unless the job asks for its own. Set through the admin REST API."""
from __future__ import annotations

import json

from services.approvals.reminders import aware
from tests.fakes.model_server import tool_calls
from tests.support.jobs import job_state, pending_action, start
from tests.support.web import api_token

SEND = ("gmail_send", {"to": ["dana@northwind.example"], "subject": "Q3", "body": "Tuesday 10:00?"})


def test_policy_time_limit_and_reasoning_effort_take_effect_on_jobs(worker, workspace, admin, client):
    _, people = workspace
    worker.set_default(tool_calls(SEND))  # every job proposes one mail and waits for its approval

    def run(prompt: str, **kw) -> tuple[float, str, set[str]]:
        """(seconds the job's approval may wait, the job's effort, the efforts the model was sent)"""
        job_id = start(people["priya"], prompt, **kw)
        action = pending_action(job_id)
        sent = {r["reasoning_effort"] for r in worker.requests if prompt in json.dumps(r["messages"])}
        return ((aware(action.expires_at) - aware(action.created_at)).total_seconds(),
                job_state(job_id).reasoning_effort, sent)

    ttl, effort, sent = run("before: email Dana about Q3")  # the installation's defaults: 24h, high
    assert abs(ttl - 24 * 3600) < 5 and effort == "high" and sent == {"high"}

    r = client.patch("/api/admin/policy", headers=api_token(admin),
                     json={"approval_ttl_s": 2 * 3600, "reasoning_effort": "none"})
    assert r.status_code == 200, r.text
    ttl, effort, sent = run("after: email Dana about Q3")
    assert abs(ttl - 2 * 3600) < 5 and effort == "none" and sent == {"none"}

    ttl, effort, sent = run("asks to think: email Dana about Q3", reasoning_effort="high")  # `--think` wins
    assert abs(ttl - 2 * 3600) < 5 and effort == "high" and sent == {"high"}
