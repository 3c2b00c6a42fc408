"""Schedules through the faces: the REST API and the web Settings page (the real FastAPI app), and
`/work schedule …` and App Home (the real bolt app against the Slack fake)."""
from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from services.store.db import get_engine
from services.store.models import Principal, Schedule
from tests.support.web import api_token, sign_in


def person(email: str) -> Principal:
    with Session(get_engine(), expire_on_commit=False) as s:
        return s.exec(select(Principal).where(Principal.email == email)).one()


def schedules() -> list[Schedule]:
    with Session(get_engine(), expire_on_commit=False) as s:
        return list(s.exec(select(Schedule)))


def test_rest_create_list_pause_resume_delete(workspace):
    from services.api.app import create_app

    alex, dana = person("alex@northwind.example"), person("dana@northwind.example")
    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        me, other = api_token(alex), api_token(dana)
        r = c.post("/api/schedules", headers=me, json={"kind": "report", "when": "every Monday 09:00",
                                                        "prompt": "OPS changes", "deliver": ["slack", "web"]})
        assert r.status_code == 201, r.text
        sc = r.json()
        assert (sc["time_zone"], sc["deliver"], sc["enabled"]) == ("Europe/London", ["web", "slack"], True)
        assert sc["rrule"].endswith("RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0")
        bad = c.post("/api/schedules", headers=me, json={"kind": "triage", "when": "now and then"})
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "when"
        assert c.post("/api/schedules", headers=me, json={"kind": "report", "when": "daily 08:00"}).status_code == 400
        assert [s["id"] for s in c.get("/api/schedules", headers=me).json()] == [sc["id"]]
        assert c.get("/api/schedules", headers=other).json() == []
        assert c.post(f"/api/schedules/{sc['id']}/pause", headers=other).status_code == 404
        assert c.post(f"/api/schedules/{sc['id']}/pause", headers=me).json()["enabled"] is False
        assert c.post(f"/api/schedules/{sc['id']}/resume", headers=me).json()["enabled"] is True
        assert c.get(f"/api/schedules/{sc['id']}/runs", headers=me).json() == []
        assert c.delete(f"/api/schedules/{sc['id']}", headers=me).status_code == 204
        assert c.delete(f"/api/schedules/{sc['id']}", headers=me).status_code == 404
    assert schedules() == []


def test_settings_page_adds_pauses_resumes_and_removes(workspace):
    from services.api.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        csrf = sign_in(c, person("alex@northwind.example"))
        r = c.post("/settings/schedules", data={"csrf_token": csrf, "kind": "triage", "when": "weekdays 08:00",
                                                "deliver": ["web", "slack"]})
        assert r.status_code == 200 and "weekdays 08:00" in r.text and "Pause" in r.text
        [sc] = schedules()
        assert sc.delivery == ["web", "slack"] and sc.time_zone == "Europe/London"
        bad = c.post("/settings/schedules", data={"csrf_token": csrf, "kind": "triage", "when": "soonish"})
        assert bad.status_code == 400 and "when:" in bad.text and len(schedules()) == 1
        assert "Resume" in c.post(f"/settings/schedules/{sc.id}/pause", data={"csrf_token": csrf}).text
        assert schedules()[0].enabled is False
        c.post(f"/settings/schedules/{sc.id}/resume", data={"csrf_token": csrf})
        assert schedules()[0].enabled is True
        assert c.post(f"/settings/schedules/{sc.id}/remove", data={"csrf_token": csrf}).status_code == 200
    assert schedules() == []


def test_slack_schedule_commands_and_app_home(workspace, slack):
    from tests.support.jobs import wait_until

    slack.send.command("schedule add report every Monday 09:00 OPS tickets that changed last week")
    added = wait_until(lambda: [b for b in slack.fake.responded() if "Added" in b.get("text", "")], what="the reply")
    assert added[0]["response_type"] == "ephemeral"
    [sc] = schedules()
    assert (sc.kind, sc.when_text, sc.prompt) == ("report", "every Monday 09:00", "OPS tickets that changed last week")
    slack.send.command(f"schedule pause {sc.id[:8]}")
    wait_until(lambda: not schedules()[0].enabled, what="the pause")
    slack.send.command("schedule add triage sometimes")
    wait_until(lambda: [b for b in slack.fake.responded() if "Nothing changed: when:" in b.get("text", "")],
               what="the refusal")
    assert len(schedules()) == 1
    slack.send.event({"type": "app_home_opened", "user": "U0ALEX", "channel": "D0ALEX", "tab": "home",
                      "event_ts": "1700000000.000100"})
    home = wait_until(lambda: slack.fake.calls("views.publish"), what="App Home")
    assert "every Monday 09:00" in str(home[-1].args) and "paused" in str(home[-1].args)
    slack.send.command(f"schedule remove {sc.id[:8]}")
    wait_until(lambda: schedules() == [], what="the removal")
