"""The Jira connector through the real `jira` client against a local Jira REST server, on Cloud
(token-paged /search/jql, accountId) and Data Center (startAt/total /search, user names)."""
from __future__ import annotations

import pytest
from sqlmodel import Session

from connectors.base import (
    CannotVerify,
    NotFound,
    NotPermitted,
    RateLimited,
    ReconnectRequired,
    ToolContext,
    ToolError,
    TransientError,
)
from connectors.jira.tools import connector
from services.config import reset_settings
from services.credentials.access import tool_context
from services.store.db import get_engine
from tests.fakes.jira_api import API_TOKEN, EMAIL, PAT, FakeJira
from tests.support.db import use_database

ALEX, DANA, SAM = "alex@northwind.example", "dana@northwind.example", "sam@northwind.example"
TOOLS = connector.tools


@pytest.fixture(params=["cloud", "datacenter"])
def site(request, sqlite_url, monkeypatch):
    """A fake Jira site with Alex (the principal), Dana and Sam; the settings point at it."""
    use_database(sqlite_url, monkeypatch)
    with FakeJira(cloud=request.param == "cloud") as jira:
        for email, name in ((ALEX, "Alex Morgan"), (DANA, "Dana Kim"), (SAM, "Sam Rivera")):
            jira.add_user(email, name)
        monkeypatch.setenv("WORKMODE_JIRA_URL", jira.url)
        if jira.cloud:
            monkeypatch.setenv("WORKMODE_JIRA_EMAIL", EMAIL)
            monkeypatch.setenv("WORKMODE_JIRA_API_TOKEN", API_TOKEN)
        else:
            monkeypatch.setenv("WORKMODE_JIRA_PAT", PAT)
        reset_settings()
        yield jira


@pytest.fixture
def session(site):
    with Session(get_engine()) as s:
        yield s


def call(session, name: str, args: dict, action_id: str | None = None):
    tool = TOOLS[name]
    return tool.run(ctx(session, action_id), tool.parse(args))


def verify(session, name: str, args: dict, action_id: str):
    tool = TOOLS[name]
    return tool.verify(ctx(session), tool.parse(args), action_id)


def ctx(session, action_id: str | None = None) -> ToolContext:
    return tool_context(session=session, principal_id="p-alex", principal_email=ALEX, org_id="org",
                        time_zone="Europe/London", action_id=action_id)


# ---------------------------------------------------------------- reads
def test_tools_match_the_sandbox_names_and_arguments():
    from connectors.sandbox.tools import connector as sandbox

    ours = {n: t.spec()["function"]["parameters"] for n, t in TOOLS.items()}
    theirs = {n: t.spec()["function"]["parameters"] for n, t in sandbox.tools.items() if n.startswith("jira_")}
    assert ours == theirs
    assert {n for n, t in TOOLS.items() if t.write} == {"jira_create_issue", "jira_comment", "jira_transition",
                                                          "jira_assign"}


def test_search_pages_through_many_results(site, session):
    for n in range(130):
        site.add_issue("OPS", f"Issue {n}", reporter=DANA)
    first = call(session, "jira_search", {"jql": "project = OPS ORDER BY created ASC", "max_results": 50})
    assert [i["key"] for i in first.data["issues"]][:2] == ["OPS-1", "OPS-2"] and len(first.data["issues"]) == 50
    assert first.data["has_more"] and first.data["next_start_at"] == 50
    last = call(session, "jira_search", {"jql": "project = OPS ORDER BY created ASC", "max_results": 50,
                                         "start_at": 110})
    assert [i["key"] for i in last.data["issues"]] == [f"OPS-{n}" for n in range(111, 131)]
    assert last.data["total"] == 130 and last.data["has_more"] is False
    if site.cloud:  # token pages: the second page was asked for with the first page's token
        pages = [r for r in site.calls("GET", "/search/jql") if "nextPageToken" in r["query"]]
        assert pages and not [r for r in site.requests if r["path"] == "/rest/api/2/search"]
    else:
        assert site.calls("GET", "/rest/api/2/search")[-1]["query"]["startAt"] == ["110"]
    assert first.untrusted and first.source == "jira_search"


def test_search_fields_and_trust(site, session):
    site.add_issue("OPS", "Mine", reporter=ALEX, assignee=DANA, labels=["q3"], priority="High")
    result = call(session, "jira_search", {"jql": "labels = q3"})
    (issue,) = result.data["issues"]
    assert issue | {"created": None, "updated": None} == {
        "key": "OPS-1", "summary": "Mine", "status": "To Do", "type": "Task", "priority": "High",
        "assignee": DANA, "reporter": ALEX, "labels": ["q3"], "created": None, "updated": None}
    assert issue["created"].endswith(("+00:00", "+01:00"))  # shown in the principal's zone (London)
    assert not result.untrusted and result.source is None  # only Alex wrote it


def test_blank_and_bad_jql(site, session):
    site.add_issue("OPS", "One", reporter=DANA)
    assert [i["key"] for i in call(session, "jira_search", {}).data["issues"]] == ["OPS-1"]  # Cloud: bounded for us
    with pytest.raises(ToolError, match="JQL"):
        call(session, "jira_search", {"jql": "nonsense = 1"})


def test_get_issue_with_all_comments_is_untrusted(site, session):
    site.add_issue("OPS", "Printer on fire", reporter=DANA, description="It is on fire.")
    for n in range(60):
        site.add_comment("OPS-1", SAM if n % 2 else DANA, f"comment {n}")
    result = call(session, "jira_get_issue", {"key": "ops-1"})
    data = result.data
    assert data["key"] == "OPS-1" and data["project"] == "OPS" and data["description"] == "It is on fire."
    assert [c["body"] for c in data["comments"]] == [f"comment {n}" for n in range(60)]
    assert data["comments"][1]["author"] == SAM
    assert data["transitions"] == [{"name": "Start Progress", "to": "In Progress"}]
    assert result.untrusted and result.source == "jira_get_issue:OPS-1"
    assert len(site.calls("GET", "/issue/OPS-1/comment")) == 2  # 50 + 10


def test_get_missing_issue_is_not_found(site, session):
    with pytest.raises(NotFound, match="does not exist"):
        call(session, "jira_get_issue", {"key": "OPS-404"})


# ---------------------------------------------------------------- writes
def test_create_issue_is_marked_and_assigned(site, session):
    result = call(session, "jira_create_issue", {"project": "ops", "issue_type": "Bug", "summary": "Login fails",
                                                 "description": "SSO loop", "assignee": DANA,
                                                 "labels": ["sso", "sso"], "priority": "High"}, "act-create")
    issue = site.issues[result.data["key"]]
    assert (issue.summary, issue.issue_type, issue.priority, issue.assignee, issue.description) == \
        ("Login fails", "Bug", "High", DANA, "SSO loop")
    assert issue.labels == ["sso", "workmode-act-create"] and issue.reporter == EMAIL
    sent = site.calls("POST", "/rest/api/2/issue")[0]["body"]["fields"]["assignee"]
    assert sent == ({"accountId": site.users[DANA]["accountId"]} if site.cloud else {"name": "dana"})
    # After a crash: the label finds it; another action finds nothing.
    assert verify(session, "jira_create_issue", {"project": "OPS", "summary": "x"}, "act-create") == result.data
    assert verify(session, "jira_create_issue", {"project": "OPS", "summary": "x"}, "act-other") is None


def test_create_issue_refusals(site, session):
    with pytest.raises(ToolError, match="not a user of this Jira site"):
        call(session, "jira_create_issue", {"project": "OPS", "summary": "x", "assignee": "nobody@else.example"})
    with pytest.raises(ToolError, match="'NOPE' does not exist in Jira"):
        call(session, "jira_create_issue", {"project": "NOPE", "summary": "x"})
    with pytest.raises(ToolError, match="spaces"):
        call(session, "jira_create_issue", {"project": "OPS", "summary": "x", "labels": ["two words"]})
    assert site.issues == {}


# ---------------------------------------------------------------- create: verify while search lags
def test_create_verify_reads_the_issue_even_while_search_lags(site, session):
    """Search has not caught up with the create: verify still finds the issue, by reading it."""
    site.add_issue("OPS", "Older", reporter=DANA)
    site.search_lag = True
    result = call(session, "jira_create_issue", {"project": "OPS", "summary": "Login fails"}, "act-lag")
    assert call(session, "jira_search", {"jql": 'labels = "workmode-act-lag"'}).data["issues"] == []  # it lags
    assert site.issues[result.data["key"]].properties == {"workmode.action": {"action_id": "act-lag"}}
    assert verify(session, "jira_create_issue", {"project": "OPS", "summary": "x"}, "act-lag") == result.data
    assert verify(session, "jira_create_issue", {"project": "ops", "summary": "x"}, "act-never") is None
    site.catch_up()
    assert verify(session, "jira_create_issue", {"project": "OPS", "summary": "x"}, "act-lag") == result.data


def test_create_verify_reads_keys_the_index_skipped(site, session):
    """The index shows a later issue but not ours (indexed out of order): the gap is read directly."""
    site.add_issue("OPS", "Before", reporter=DANA)
    site.search_lag = True
    result = call(session, "jira_create_issue", {"project": "OPS", "summary": "Ours"}, "act-gap")
    site.add_issue("OPS", "After, already indexed", reporter=DANA)
    assert result.data["key"] == "OPS-2"
    assert verify(session, "jira_create_issue", {"project": "OPS", "summary": "x"}, "act-gap") == result.data


def test_create_verify_cannot_tell_when_search_is_far_behind(site, session):
    """Too many issues the index does not show yet: "cannot tell", never "absent"."""
    site.search_lag = True
    for n in range(60):
        site.add_issue("OPS", f"Made just now {n}", reporter=DANA, indexed=False)
    with pytest.raises(CannotVerify, match="far behind"):
        verify(session, "jira_create_issue", {"project": "OPS", "summary": "x"}, "act-unknown")
    site.catch_up()
    assert verify(session, "jira_create_issue", {"project": "OPS", "summary": "x"}, "act-unknown") is None


# ---------------------------------------------------------------- create: only what the create screen has
def test_create_sends_only_the_fields_on_the_create_screen(site, session):
    site.set_screen("OPS", "Task", ["project", "issuetype", "summary", "description", "assignee"])
    site.search_lag = True
    # As the engine stores them: every argument, defaults filled in (priority None).
    args = TOOLS["jira_create_issue"].parse({"project": "OPS", "summary": "No priority here", "description": "d"})
    result = call(session, "jira_create_issue", args.model_dump(mode="json"), "act-screen")
    sent = site.calls("POST", "/rest/api/2/issue")[-1]["body"]
    assert set(sent["fields"]) == {"project", "issuetype", "summary", "description"}
    assert sent["fields"]["issuetype"] == {"id": "10001"}
    assert sent["properties"] == [{"key": "workmode.action", "value": {"action_id": "act-screen"}}]
    # No label to search for: verify finds the issue by its property.
    assert verify(session, "jira_create_issue", {"project": "OPS", "summary": "x"}, "act-screen") == result.data
    # What the person asked for but the screen lacks is refused before anything is sent.
    before = len(site.calls("POST", "/rest/api/2/issue"))
    with pytest.raises(ToolError, match="OPS's create screen for Task has no Priority"):
        call(session, "jira_create_issue", {"project": "OPS", "summary": "x", "priority": "High"})
    with pytest.raises(ToolError, match="has no Labels"):
        call(session, "jira_create_issue", {"project": "OPS", "summary": "x", "labels": ["q3"]})
    assert len(site.calls("POST", "/rest/api/2/issue")) == before


def test_create_checks_the_issue_type_and_required_fields_against_the_project(site, session):
    site.add_project("SUP", "Support", types=("Task", "Bug"))
    with pytest.raises(ToolError) as err:
        call(session, "jira_create_issue", {"project": "SUP", "issue_type": "Story", "summary": "x"})
    assert err.value.message == "'Story' is not an issue type of SUP; its issue types are: Task, Bug"
    site.set_screen("SUP", "Bug", [*site.projects["SUP"]["types"]["Bug"]["screen"], "customfield_10050"],
                    required=["project", "issuetype", "summary", "customfield_10050"])
    with pytest.raises(ToolError, match="requires Team, which this tool cannot fill"):
        call(session, "jira_create_issue", {"project": "sup", "issue_type": "Bug", "summary": "x"})
    assert site.calls("POST", "/rest/api/2/issue") == []
    made = call(session, "jira_create_issue", {"project": "sup", "issue_type": "Task", "summary": "x"}).data
    assert site.issues[made["key"]].issue_type == "Task" and made["key"] == "SUP-1"


def test_create_takes_the_projects_own_issue_types_and_priority_scheme(site, session):
    """A project's own issue type ("Incident") and priority scheme (P1-P3, default P3, no
    "Medium"): the type is matched against createmeta, a priority is sent only when asked for and
    only as one the screen allows; anything else is refused, naming what the project offers."""
    site.add_project("INC", "Incidents", types=("Incident", "Task"), priorities=("P1", "P2", "P3"),
                     default_priority="P3")
    task = call(session, "jira_create_issue", {"project": "INC", "summary": "Rotate keys"}).data  # never said Medium
    assert "priority" not in site.calls("POST", "/rest/api/2/issue")[-1]["body"]["fields"]
    assert (site.issues[task["key"]].issue_type, site.issues[task["key"]].priority) == ("Task", "P3")
    args = TOOLS["jira_create_issue"].parse({"project": "inc", "issue_type": "incident", "summary": "Checkout down"})
    plain = call(session, "jira_create_issue", args.model_dump(mode="json"), "act-inc").data
    sent = site.calls("POST", "/rest/api/2/issue")[-1]["body"]["fields"]
    assert "priority" not in sent and sent["issuetype"] == {"id": site.projects["INC"]["types"]["Incident"]["id"]}
    assert (site.issues[plain["key"]].issue_type, site.issues[plain["key"]].priority) == ("Incident", "P3")
    urgent = call(session, "jira_create_issue", {"project": "INC", "issue_type": "Incident", "summary": "Pay down",
                                                 "priority": "p1"}).data
    assert site.calls("POST", "/rest/api/2/issue")[-1]["body"]["fields"]["priority"] == {"name": "P1"}
    assert site.issues[urgent["key"]].priority == "P1"

    before = len(site.calls("POST", "/rest/api/2/issue"))
    with pytest.raises(ToolError) as err:
        call(session, "jira_create_issue", {"project": "INC", "summary": "x", "priority": "High"})
    assert err.value.message == "priority 'High' is not offered in INC; its priorities are: P1, P2, P3"
    with pytest.raises(ToolError) as err:
        call(session, "jira_create_issue", {"project": "INC", "issue_type": "Bug", "summary": "x"})
    assert err.value.message == "'Bug' is not an issue type of INC; its issue types are: Incident, Task"
    assert len(site.calls("POST", "/rest/api/2/issue")) == before


def test_a_required_priority_without_a_default_is_refused_before_sending(site, session):
    site.add_project("SEC", "Security", types=("Task",), priorities=("Critical", "Minor"), default_priority=None,
                     required=("project", "issuetype", "summary", "priority"))
    with pytest.raises(ToolError, match="requires Priority, which this tool cannot fill"):
        call(session, "jira_create_issue", {"project": "SEC", "summary": "x"})
    assert site.calls("POST", "/rest/api/2/issue") == []
    made = call(session, "jira_create_issue", {"project": "SEC", "summary": "x", "priority": "critical"}).data
    assert site.issues[made["key"]].priority == "Critical"


def test_the_fake_refuses_creates_the_project_does_not_allow(site):
    """The fake holds the line the connector relies on, as Jira does: an unknown issue type, a
    priority outside the project's scheme, a field off the create screen are each a 400."""
    import requests

    site.add_project("INC", "Incidents", types=("Incident",), priorities=("P1", "P2"), default_priority="P2",
                     screen=("project", "issuetype", "summary", "priority"))
    auth = (EMAIL, API_TOKEN) if site.cloud else None
    headers = {} if site.cloud else {"Authorization": f"Bearer {PAT}"}

    def create(**fields) -> requests.Response:
        body = {"fields": {"project": {"key": "INC"}, "issuetype": {"name": "Incident"}, "summary": "x", **fields}}
        return requests.post(f"{site.url}/rest/api/2/issue", json=body, auth=auth, headers=headers, timeout=10)

    assert create(issuetype={"name": "Bug"}).json()["errors"] == {"issuetype": "Specify a valid issue type"}
    assert create(priority={"name": "Medium"}).json()["errors"] == {
        "priority": "Specify a valid 'id' or 'name' for Priority"}
    assert create(labels=["q3"]).json()["errors"] == {
        "labels": "Field 'labels' cannot be set. It is not on the appropriate screen, or unknown."}
    assert site.issues == {}
    made = create()
    assert made.status_code == 201 and site.issues[made.json()["key"]].priority == "P2"


# ---------------------------------------------------------------- comments
def test_comment_carries_the_action_and_verify_finds_it(site, session):
    site.add_issue("OPS", "Printer on fire", reporter=DANA)
    for n in range(55):  # the marked comment lands on the second page
        site.add_comment("OPS-1", DANA, f"comment {n}")
    result = call(session, "jira_comment", {"key": "ops-1", "body": "On it."}, "act-comment")
    comment = site.issues["OPS-1"].comments[-1]
    assert result.data == {"key": "OPS-1", "comment_id": comment["id"]}
    assert comment["body"] == "On it." and comment["properties"] == {"workmode.action": {"action_id": "act-comment"}}
    args = {"key": "OPS-1", "body": "On it."}
    assert verify(session, "jira_comment", args, "act-comment") == result.data
    assert verify(session, "jira_comment", args, "act-other") is None
    assert verify(session, "jira_comment", {"key": "OPS-999", "body": "x"}, "act-comment") is None


def test_transition_by_name(site, session):
    site.add_issue("OPS", "Printer on fire", reporter=DANA)
    result = call(session, "jira_transition", {"key": "OPS-1", "transition": "start progress"}, "act-move")
    assert result.data == {"key": "OPS-1", "from": "To Do", "to": "In Progress"}
    assert site.issues["OPS-1"].status == "In Progress"
    assert site.calls("POST", "/issue/OPS-1/transitions")[0]["body"]["transition"] == {"id": "11"}
    # By target status too; an unknown name lists the valid ones.
    assert call(session, "jira_transition", {"key": "OPS-1", "transition": "In Review"}).data["to"] == "In Review"
    with pytest.raises(ToolError) as err:
        call(session, "jira_transition", {"key": "OPS-1", "transition": "Close"})
    assert "Valid transitions: 'Done' (→ Done)" in err.value.message and "In Review" in err.value.message


def test_transition_fills_its_screen_with_jiras_defaults(site, session):
    site.add_issue("OPS", "A", reporter=DANA, status="In Progress")
    result = call(session, "jira_transition", {"key": "OPS-1", "transition": "Done"}, "act-done")
    assert result.data == {"key": "OPS-1", "from": "In Progress", "to": "Done", "fields": {"Resolution": "Done"}}
    assert site.calls("POST", "/issue/OPS-1/transitions")[-1]["body"]["fields"] == {"resolution": {"id": "10000"}}
    assert (site.issues["OPS-1"].status, site.issues["OPS-1"].resolution) == ("Done", "Done")
    # A required field with no default: said plainly, nothing sent.
    site.add_issue("OPS", "B", reporter=DANA, status="In Progress")
    site.transition_screens["31"]["resolution"].update(hasDefaultValue=False, defaultValue=None)
    with pytest.raises(ToolError, match="'Done' on OPS-2 asks for Resolution, which this tool cannot fill"):
        call(session, "jira_transition", {"key": "OPS-2", "transition": "Done"})
    assert site.calls("POST", "/issue/OPS-2/transitions") == [] and site.issues["OPS-2"].status == "In Progress"


def test_transition_verify(site, session):
    site.add_issue("OPS", "A", reporter=DANA)
    args = {"key": "OPS-1", "transition": "Start Progress"}
    assert verify(session, "jira_transition", args, "act-move") is None  # still offered: it did not happen
    call(session, "jira_transition", args, "act-move")
    assert verify(session, "jira_transition", args, "act-move") == {"key": "OPS-1", "from": "To Do",
                                                                     "to": "In Progress"}
    # Someone else moved it on, without our marker: in the named status → done; otherwise unknown.
    assert verify(session, "jira_transition", {"key": "OPS-1", "transition": "in progress"}, "act-x") == \
        {"key": "OPS-1", "to": "In Progress"}
    with pytest.raises(CannotVerify):
        verify(session, "jira_transition", {"key": "OPS-1", "transition": "Reopen"}, "act-y")


def test_assign_and_unassign(site, session):
    site.add_issue("OPS", "A", reporter=DANA)
    args = {"key": "OPS-1", "assignee": SAM}
    assert verify(session, "jira_assign", args, "act-assign") is None
    assert call(session, "jira_assign", args, "act-assign").data == {"key": "OPS-1", "assignee": SAM}
    assert site.issues["OPS-1"].assignee == SAM
    assert verify(session, "jira_assign", args, "act-assign") == {"key": "OPS-1", "assignee": SAM}
    assert verify(session, "jira_assign", {"key": "OPS-1", "assignee": DANA}, "act-x") is None
    assert call(session, "jira_assign", {"key": "OPS-1", "assignee": None}).data["assignee"] is None
    assert site.issues["OPS-1"].assignee is None
    assert verify(session, "jira_assign", {"key": "OPS-1", "assignee": None}, "act-y") == \
        {"key": "OPS-1", "assignee": None}


@pytest.mark.parametrize("site", ["cloud"], indirect=True)  # email privacy is a Cloud setting
def test_cloud_user_with_hidden_email_is_found_by_search(site, session):
    site.add_user("priya@northwind.example", "Priya Shah", hide_email=True)
    site.add_issue("OPS", "A", reporter=DANA)
    call(session, "jira_assign", {"key": "OPS-1", "assignee": "priya@northwind.example"})
    assert site.issues["OPS-1"].assignee == "priya@northwind.example"


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("status,error", [(401, ReconnectRequired), (403, NotPermitted), (404, NotFound),
                                          (429, RateLimited), (500, TransientError), (503, TransientError)])
def test_http_errors_become_connector_errors(site, session, status, error):
    site.add_issue("OPS", "A", reporter=DANA)
    site.fail(status, "/issue/OPS-1", retry_after="7" if status == 429 else None)
    with pytest.raises(error) as err:
        call(session, "jira_get_issue", {"key": "OPS-1"})
    if status == 429:
        assert err.value.retry_after == 7.0
    assert API_TOKEN not in err.value.message and PAT not in err.value.message
    assert len(site.calls("GET", "/issue/OPS-1")) == 1  # the client did not retry on its own


def test_write_errors_do_not_retry_by_themselves(site, session):
    site.add_issue("OPS", "A", reporter=DANA)
    site.fail(503, "/issue/OPS-1/comment", method="POST", retry_after="1")
    with pytest.raises(TransientError):
        call(session, "jira_comment", {"key": "OPS-1", "body": "hi"}, "act-1")
    assert len(site.calls("POST", "/issue/OPS-1/comment")) == 1 and site.issues["OPS-1"].comments == []


def test_wrong_credentials_ask_to_reconnect(site, session, monkeypatch):
    monkeypatch.setenv("WORKMODE_JIRA_API_TOKEN" if site.cloud else "WORKMODE_JIRA_PAT", "wrong-secret")
    reset_settings()
    with pytest.raises(ReconnectRequired, match="workmode connect jira") as err:
        call(session, "jira_search", {"jql": "project = OPS"})
    assert "wrong-secret" not in err.value.message


def test_timeout_is_transient(site, session, monkeypatch):
    monkeypatch.setenv("WORKMODE_JIRA_TIMEOUT_S", "0.5")
    reset_settings()
    site.fail(200, "/search", delay_s=2.0)
    with pytest.raises(TransientError, match="did not answer"):
        call(session, "jira_search", {"jql": "project = OPS"})


def test_only_the_configured_site_is_contacted(site, session):
    site.fail(302, "/search", headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with pytest.raises(NotPermitted, match="only talks to"):
        call(session, "jira_search", {"jql": "project = OPS"})


def test_not_configured_asks_to_connect(sqlite_url, monkeypatch):
    use_database(sqlite_url, monkeypatch)
    with Session(get_engine()) as s, pytest.raises(ReconnectRequired, match="Jira is not connected"):
        call(s, "jira_search", {"jql": "project = OPS"})


def test_a_persons_own_connection_wins_over_the_site_account(site, monkeypatch):
    from services.credentials.service import save
    from services.store.models import Organisation, Principal

    monkeypatch.setenv("WORKMODE_JIRA_API_TOKEN" if site.cloud else "WORKMODE_JIRA_PAT", "site-account-revoked")
    reset_settings()
    site.add_issue("OPS", "A", reporter=DANA)
    own = {"url": site.url, "email": EMAIL, "api_token": API_TOKEN} if site.cloud else {"url": site.url, "pat": PAT}
    with Session(get_engine()) as s:
        org = Organisation(name="Northwind")
        s.add(org)
        s.flush()
        alex, sam = Principal(org_id=org.id, email=ALEX), Principal(org_id=org.id, email=SAM)
        s.add_all([alex, sam])
        s.flush()
        save(session=s, principal_id=alex.id, provider="jira", secret=own)
        save(session=s, principal_id=sam.id, provider="jira", secret={"url": site.url})  # incomplete
        s.commit()
        as_alex = tool_context(session=s, principal_id=alex.id, principal_email=ALEX, org_id=org.id)
        found = TOOLS["jira_search"].run(as_alex, TOOLS["jira_search"].parse({"jql": "project = OPS"}))
        assert [i["key"] for i in found.data["issues"]] == ["OPS-1"]
        as_sam = tool_context(session=s, principal_id=sam.id, principal_email=SAM, org_id=org.id)
        with pytest.raises(ReconnectRequired, match="your Jira connection cannot be used"):
            TOOLS["jira_search"].run(as_sam, TOOLS["jira_search"].parse({"jql": "project = OPS"}))
