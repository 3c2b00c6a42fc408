"""Rendering, without Slack: approvals as people will see them, forms from tool schemas, and the
job's message."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal, Optional

from pydantic import BaseModel, Field

from connectors.registry import get_connector
from services.slackapp.approval_blocks import approval_card, parse_button_value
from services.slackapp.blocks import job_card, markdown_to_mrkdwn
from services.slackapp.command import parse
from services.slackapp.schema_form import field_blocks, read_fields
from services.store.models import Action, Job
from tests.fakes.slack_api import form_values


def _action(tool: str, arguments: dict, **extra) -> tuple[Action, Job]:
    ref = get_connector("sandbox").tools[tool]
    parsed = ref.parse(arguments)
    action = Action(id="a" * 32, job_id="j" * 32, tool_call_id="c1", connector="sandbox", tool=tool,
                    arguments=parsed.model_dump(mode="json"), args_hash="h" * 64,
                    preview=ref.preview(parsed).as_dict(), **extra)
    return action, Job(id="j" * 32, org_id="o", principal_id="p", prompt="x")


def _card(action: Action, job: Job, tz: str = "Europe/London") -> str:
    blocks, _ = approval_card(action, job, requester="<@U0ALEX>", requester_tz=tz,
                              person=lambda _id: ("U0DANA", "Dana"))
    return json.dumps(blocks)


def test_an_event_shows_its_time_in_each_viewers_time_zone():
    action, job = _action("calendar_create_event", {"summary": "Q3 review", "start": "2030-03-05T10:00:00",
                                                    "end": "2030-03-05T11:00:00",
                                                    "attendees": ["dana@northwind.example"]})
    shown = _card(action, job, tz="America/New_York")
    start = int(datetime(2030, 3, 5, 15, 0, tzinfo=UTC).timestamp())  # 10:00 in New York
    assert f"<!date^{start}^{{date_long_pretty}} at {{time}}|2030-03-05 15:00 UTC>" in shown
    assert "dana@northwind.example" in shown and "Q3 review" in shown


def test_risk_flags_and_untrusted_reads_are_shown():
    action, job = _action("gmail_send", {"to": ["x@elsewhere.example"], "subject": "s", "body": "see https://e.example"},
                          risk_flags=[{"kind": "outside_recipient", "field": "to", "value": "x@elsewhere.example"},
                                      {"kind": "link", "field": "body", "value": "https://e.example"}],
                          context=[{"tool": "gmail_read_thread", "untrusted": True}])
    shown = _card(action, job)
    assert "outside recipient: x@elsewhere.example" in shown and "link in body" in shown
    assert "gmail_read_thread (written by someone else)" in shown
    assert "wm_approve" in shown
    assert parse_button_value(json.loads(shown.split('"value": ')[1].split(', "text"')[0])) == ("a" * 32, "h" * 64)


def test_after_a_decision_the_buttons_go_and_who_decided_shows():
    action, job = _action("jira_comment", {"key": "OPS-1", "body": "done"}, status="rejected", decided_by="p2",
                          decided_via="person", decided_at=datetime(2030, 1, 1, tzinfo=UTC), reason="not yet")
    shown = _card(action, job)
    assert "wm_approve" not in shown and "Rejected by <@U0DANA>" in shown and "not yet" in shown


def test_an_approved_action_whose_job_ended_shows_it_never_ran():
    action, job = _action("jira_comment", {"key": "OPS-1", "body": "done"}, status="cancelled", decided_by="p2",
                          decided_via="person", decided_at=datetime(2030, 1, 1, tzinfo=UTC),
                          reason="the job was cancelled")
    shown = _card(action, job)
    assert "Approved by <@U0DANA>" in shown and "Not done: the job was cancelled" in shown
    assert "Queued to run" not in shown


class Args(BaseModel):
    title: str = Field(..., description="A title")
    priority: Literal["low", "high"] = "low"
    count: int = Field(1, ge=1)
    ratio: Optional[float] = None
    urgent: bool = False
    labels: list[str] = Field(default_factory=list)
    extra: dict = Field(default_factory=dict)


def test_a_form_from_a_schema_round_trips():
    schema = Args.model_json_schema()
    original = {"title": "T", "priority": "high", "count": 3, "ratio": None, "urgent": True, "labels": ["a", "b"],
                "extra": {"k": 1}}
    blocks = field_blocks(schema, original)
    kinds = {b["block_id"]: b["element"]["type"] for b in blocks}
    assert kinds == {"f:title": "plain_text_input", "f:priority": "static_select", "f:count": "number_input",
                     "f:ratio": "number_input", "f:urgent": "static_select", "f:labels": "plain_text_input",
                     "f:extra": "plain_text_input"}
    view = {"blocks": blocks}
    args, errors = read_fields(schema, original, form_values(view))
    assert errors == {} and Args.model_validate(args).model_dump() == original
    args, errors = read_fields(schema, original, form_values(view, count="three", extra="{oops", labels=""))
    assert set(errors) == {"f:count", "f:extra"}
    args, _ = read_fields(schema, original, form_values(view, labels="", priority="low", ratio="0.5"))
    assert "labels" not in args and args["priority"] == "low" and args["ratio"] == 0.5  # empty: the default applies


def test_the_job_message_and_command_parsing():
    job = Job(id="b" * 32, org_id="o", principal_id="p", prompt="plan <Q3> & more", status="completed",
              result="**Booked** [room](https://rooms.example/7)", prompt_tokens=1000, completion_tokens=234,
              plan=[{"title": "Find a room", "status": "done"}])
    blocks, fallback = job_card(job, requester="<@U0ALEX>")
    shown = json.dumps(blocks)
    assert "plan &lt;Q3&gt; &amp; more" in shown and "1,234 tokens" in shown
    assert ":white_check_mark: Find a room" in shown
    assert "*Booked* <https://rooms.example/7|room>" in shown and "Booked" in fallback
    assert markdown_to_mrkdwn("# Title") == "*Title*"
    assert (parse("status").kind, parse("status report for Q3").kind) == ("status", "request")
    assert (parse("cancel 1a2b3c4d").arg, parse("cancel my 3pm").kind) == ("1a2b3c4d", "request")
    efforts = (parse("--think plan it").effort, parse("plan it --fast").effort, parse("plan it").effort)
    assert efforts == ("high", "none", None)
