"""The Slack connector (the agent's slack_* tools) through slack_sdk's real WebClient against a
local Slack Web API."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

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
from connectors.slack.tools import connector
from services.config import reset_settings
from services.credentials.access import tool_context
from services.store.db import get_engine
from services.store.models import Action, Job, Organisation, Principal, utcnow
from tests.fakes.slack_web import BOT_TOKEN, FakeSlack
from tests.support.db import use_database

ALEX, DANA = "alex@northwind.example", "dana@northwind.example"
TOOLS = connector.tools


@pytest.fixture
def slack(sqlite_url, monkeypatch):
    """A fake workspace (Alex is the principal, U0ALEX) with #eng; the settings point at it."""
    use_database(sqlite_url, monkeypatch)
    with FakeSlack() as fake:
        fake.alex = fake.add_user(ALEX, "Alex Morgan", user_id="U0ALEX")
        fake.dana = fake.add_user(DANA, "Dana Kim", tz="America/New_York", user_id="U0DANA")
        fake.eng = fake.add_channel("eng")
        monkeypatch.setenv("WORKMODE_SLACK_BOT_TOKEN", BOT_TOKEN)
        monkeypatch.setenv("WORKMODE_SLACK_API_URL", fake.url)
        reset_settings()
        yield fake


@pytest.fixture
def alex(slack):
    with Session(get_engine(), expire_on_commit=False) as s:
        org = Organisation(name="Northwind", domains=["northwind.example"])
        s.add(org)
        s.flush()
        p = Principal(org_id=org.id, email=ALEX, name="Alex Morgan", slack_user_id="U0ALEX")
        s.add(p)
        s.commit()
        return p


@pytest.fixture
def session(alex):
    with Session(get_engine()) as s:
        yield s


def ctx(session, principal, action_id=None) -> ToolContext:
    return tool_context(session=session, principal_id=principal.id, principal_email=ALEX, org_id=principal.org_id,
                        action_id=action_id)


def call(session, principal, name, args, action_id=None):
    tool = TOOLS[name]
    return tool.run(ctx(session, principal, action_id), tool.parse(args))


def verify(session, principal, name, args, action_id):
    tool = TOOLS[name]
    return tool.verify(ctx(session, principal), tool.parse(args), action_id)


def test_tools_match_the_sandbox_names_and_arguments():
    from connectors.sandbox.tools import connector as sandbox

    ours = {n: t.spec()["function"]["parameters"] for n, t in TOOLS.items()}
    theirs = {n: t.spec()["function"]["parameters"] for n, t in sandbox.tools.items() if n.startswith("slack_")}
    assert ours == theirs
    assert TOOLS["slack_dm"].recipient_fields == ("user",)


# ---------------------------------------------------------------- reads
def test_history_pages_and_trust(slack, session, alex):
    for n in range(5):
        slack.add_message(slack.eng, slack.dana, f"dana {n}")
    first = call(session, alex, "slack_history", {"channel": "#eng", "limit": 3})
    assert [m["text"] for m in first.data["messages"]] == ["dana 4", "dana 3", "dana 2"]
    assert first.data["messages"][0] | {"ts": None} == {"ts": None, "user": DANA, "user_id": "U0DANA",
                                                        "user_name": "Dana Kim", "text": "dana 4"}
    assert first.data["has_more"] and first.untrusted and first.source == f"slack_history:{slack.eng}"
    rest = call(session, alex, "slack_history", {"channel": slack.eng, "limit": 3,
                                                 "cursor": first.data["next_cursor"]})
    assert [m["text"] for m in rest.data["messages"]] == ["dana 1", "dana 0"]
    assert rest.data["has_more"] is False and rest.data["next_cursor"] is None
    assert len(slack.called("users.info")) == 2  # once per person per call


def test_authors_outside_the_workspace_do_not_break_a_read(slack, session, alex):
    slack.add_message(slack.eng, "U0EXTERNAL", "hello from a partner")  # Slack Connect: users.info fails
    (msg,) = call(session, alex, "slack_history", {"channel": "eng"}).data["messages"]
    assert (msg["user"], msg["user_id"], msg["text"]) == ("U0EXTERNAL", "U0EXTERNAL", "hello from a partner")


def test_own_messages_are_trusted(slack, session, alex):
    slack.add_message(slack.eng, "U0ALEX", "note to self")
    result = call(session, alex, "slack_history", {"channel": "eng"})
    assert not result.untrusted and result.source is None


def test_channel_names_are_found_across_pages(slack, session, alex):
    for n in range(250):
        slack.add_channel(f"team-{n:03d}")
    late = slack.add_channel("zz-late")
    slack.add_message(late, slack.dana, "found me")
    result = call(session, alex, "slack_history", {"channel": "#zz-late"})
    assert result.data["channel"] == late and result.data["messages"][0]["text"] == "found me"
    assert len(slack.called("conversations.list")) == 2
    with pytest.raises(NotFound, match="no channel '#nope'"):
        call(session, alex, "slack_history", {"channel": "#nope"})


def test_private_channel_without_the_app_is_not_found(slack, session, alex):
    hidden = slack.add_channel("secret", private=True, member=False)
    with pytest.raises(NotFound, match=r"channel_not_found .*only once it is invited"):
        call(session, alex, "slack_history", {"channel": hidden})
    with pytest.raises(NotFound, match="no channel 'secret'"):
        call(session, alex, "slack_history", {"channel": "secret"})


def test_a_public_channel_the_app_is_not_in_cannot_be_read(slack, session, alex):
    slack.add_channel("lobby", member=False)
    with pytest.raises(NotPermitted, match=r"not_in_channel .*invite the Workmode app"):
        call(session, alex, "slack_history", {"channel": "lobby"})
    assert slack.called("conversations.join") == []  # reading joins nothing


def test_thread_reads_every_page(slack, session, alex):
    parent = slack.add_message(slack.eng, slack.dana, "deploy at 5?")
    for n in range(250):
        slack.add_message(slack.eng, "U0ALEX" if n % 2 else slack.dana, f"reply {n}", thread_ts=parent)
    result = call(session, alex, "slack_thread", {"channel": "eng", "thread_ts": parent})
    texts = [m["text"] for m in result.data["messages"]]
    assert texts[0] == "deploy at 5?" and texts[1:] == [f"reply {n}" for n in range(250)]
    assert len(slack.called("conversations.replies")) == 2
    assert result.untrusted and result.source == f"slack_thread:{slack.eng}:{parent}"
    with pytest.raises(NotFound, match="thread_not_found"):
        call(session, alex, "slack_thread", {"channel": "eng", "thread_ts": "1.000001"})


def test_find_user(slack, session, alex):
    found = call(session, alex, "slack_find_user", {"email": "Dana@Northwind.example"}).data
    assert found == {"id": "U0DANA", "email": DANA, "name": "Dana Kim", "time_zone": "America/New_York"}
    with pytest.raises(NotFound, match="users_not_found"):
        call(session, alex, "slack_find_user", {"email": "nobody@northwind.example"})


# ---------------------------------------------------------------- writes and verify
def test_post_carries_the_action_and_verify_finds_it(slack, session, alex):
    for n in range(450):  # the marked message is deep in the history
        slack.add_message(slack.eng, slack.dana, f"chatter {n}")
    result = call(session, alex, "slack_post", {"channel": "#eng", "text": "Shipped."}, "act-post")
    (posted,) = slack.posted("act-post")
    assert result.data == {"channel": slack.eng, "ts": posted["ts"]} and posted["text"] == "Shipped."
    assert posted["metadata"] == {"event_type": "workmode_action", "event_payload": {"action_id": "act-post"}}
    for n in range(450):
        slack.add_message(slack.eng, slack.dana, f"later {n}")
    args = {"channel": "#eng", "text": "Shipped."}
    assert verify(session, alex, "slack_post", args, "act-post") == result.data
    assert all(c["include_all_metadata"] in ("1", "true") for c in slack.called("conversations.history"))
    assert verify(session, alex, "slack_post", args, "act-other") is None
    with pytest.raises(CannotVerify, match=r"does not show the channel #gone .*invite the app"):
        verify(session, alex, "slack_post", {"channel": "#gone", "text": "x"}, "act-post")


def test_thread_reply_and_its_verify(slack, session, alex):
    parent = slack.add_message(slack.eng, slack.dana, "deploy at 5?")
    args = {"channel": "eng", "text": "Yes.", "thread_ts": parent}
    assert verify(session, alex, "slack_post", args, "act-reply") is None
    result = call(session, alex, "slack_post", args, "act-reply")
    assert result.data["thread_ts"] == parent and slack.posted("act-reply")[0]["thread_ts"] == parent
    assert verify(session, alex, "slack_post", args, "act-reply") == result.data
    with pytest.raises(NotFound):
        call(session, alex, "slack_post", {**args, "thread_ts": "1.000001"}, "act-x")


@pytest.mark.parametrize("by", ["name", "id"])
def test_a_post_in_a_public_channel_joins_it_so_verify_can_read_it(slack, session, alex, by):
    """chat:write.public would let the post through without joining; history would then answer
    not_in_channel and every such action end in doubt. The app joins first, then posts."""
    general = slack.add_channel("general", member=False)
    ref = "#general" if by == "name" else general
    result = call(session, alex, "slack_post", {"channel": ref, "text": "hello"}, "act-join")
    assert [c["method"] for c in slack.calls if c["method"] in ("conversations.join", "chat.postMessage")] == \
        ["conversations.join", "chat.postMessage"]
    assert slack.called("conversations.join") == [{"channel": general}] and len(slack.posted("act-join")) == 1
    assert verify(session, alex, "slack_post", {"channel": ref, "text": "hello"}, "act-join") == result.data
    call(session, alex, "slack_post", {"channel": ref, "text": "again"}, "act-member")
    assert len(slack.called("conversations.join")) == 1  # a member already: no second join


def test_verify_joins_a_public_channel_the_app_is_not_in(slack, session, alex):
    """Posted before the app joined (chat:write.public), or the app was removed since: verify
    joins the public channel to read it rather than answer "in doubt"."""
    lobby = slack.add_channel("lobby", member=False)
    ts = slack.add_message(lobby, "UBOT00001", "hello", metadata={"event_type": "workmode_action",
                                                                  "event_payload": {"action_id": "act-old"}})
    assert verify(session, alex, "slack_post", {"channel": "lobby", "text": "hello"}, "act-old") == \
        {"channel": lobby, "ts": ts}
    assert slack.called("conversations.join") == [{"channel": lobby}]
    assert verify(session, alex, "slack_post", {"channel": "lobby", "text": "x"}, "act-none") is None


def test_private_channels_post_and_verify_for_members_only(slack, session, alex):
    inner = slack.add_channel("inner", private=True)
    result = call(session, alex, "slack_post", {"channel": "inner", "text": "hi"}, "act-inner")
    assert verify(session, alex, "slack_post", {"channel": inner, "text": "hi"}, "act-inner") == result.data
    secret = slack.add_channel("secret", private=True, member=False)
    for ref in (secret, "#secret"):
        with pytest.raises(NotFound, match="invite"):
            call(session, alex, "slack_post", {"channel": ref, "text": "hello"}, "act-no")
        with pytest.raises(CannotVerify, match=rf"does not show the channel {ref} .*private channel it is not in"):
            verify(session, alex, "slack_post", {"channel": ref, "text": "hello"}, "act-no")
    assert slack.posted("act-no") == [] and slack.called("conversations.join") == []


def test_a_missing_scope_is_named_and_nothing_is_posted(slack, session, alex):
    """Slack answers missing_scope with the scope `needed`; the error says which one to add."""
    general = slack.add_channel("general", member=False)
    slack.scopes.discard("channels:join")
    with pytest.raises(NotPermitted, match=r"conversations.join: missing_scope .*lacks the channels:join scope"):
        call(session, alex, "slack_post", {"channel": general, "text": "hello"}, "act-scope")
    assert slack.posted() == []
    slack.scopes.discard("channels:history")
    with pytest.raises(NotPermitted, match="lacks the channels:history scope") as err:
        call(session, alex, "slack_history", {"channel": "eng"})
    assert BOT_TOKEN not in err.value.message


def test_direct_message_by_email_or_id(slack, session, alex):
    by_email = call(session, alex, "slack_dm", {"user": DANA, "text": "Hi Dana"}, "act-dm")
    by_id = call(session, alex, "slack_dm", {"user": "U0DANA", "text": "Again"}, "act-dm2")
    assert by_email.data["channel"] == by_id.data["channel"] and by_email.data["channel"].startswith("D")
    assert slack.called("conversations.open")[0]["users"] == "U0DANA"
    assert verify(session, alex, "slack_dm", {"user": DANA, "text": "Hi Dana"}, "act-dm") == by_email.data
    assert verify(session, alex, "slack_dm", {"user": DANA, "text": "x"}, "act-never") is None
    with pytest.raises(NotFound):
        call(session, alex, "slack_dm", {"user": "ghost@northwind.example", "text": "boo"})


def test_verify_reads_only_since_execution_began(slack, session, alex):
    """Not from when the action was proposed (it may wait days for approval): from
    `executing_since`, less the margin for clocks and retries."""
    with Session(get_engine(), expire_on_commit=False) as s:
        job = Job(org_id=alex.org_id, principal_id=alex.id, prompt="post it")
        s.add(job)
        s.flush()
        action = Action(job_id=job.id, tool_call_id="c1", connector="slack", tool="slack_post", arguments={},
                        args_hash="h", created_at=utcnow() - timedelta(days=3))
        s.add(action)
        s.commit()
    started = utcnow() - timedelta(minutes=1)
    context = replace(ctx(session, alex), executing_since=started)
    tool = TOOLS["slack_post"]
    result = tool.run(replace(context, action_id=action.id), tool.parse({"channel": "eng", "text": "x"}))
    assert tool.verify(context, tool.parse({"channel": "eng", "text": "x"}), action.id) == result.data
    oldest = float(slack.called("conversations.history")[-1]["oldest"])
    assert oldest == pytest.approx((started - timedelta(minutes=10)).timestamp(), abs=0.01)
    # Without it (a verify outside the engine), the stored action's own time: earlier, never later.
    verify(session, alex, "slack_post", {"channel": "eng", "text": "x"}, action.id)
    oldest = float(slack.called("conversations.history")[-1]["oldest"])
    assert oldest == pytest.approx((action.created_at - timedelta(minutes=10)).timestamp(), abs=0.01)


def test_verify_gives_up_honestly_on_a_long_unknown_history(slack, session, alex):
    for n in range(2100):
        slack.add_message(slack.eng, slack.dana, f"m{n}")
    with pytest.raises(CannotVerify):
        verify(session, alex, "slack_post", {"channel": "eng", "text": "x"}, "act-unknown")


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("fault,error", [
    ({"status": 429, "retry_after": "7"}, RateLimited), ({"status": 500}, TransientError),
    ({"status": 503, "error": "service_unavailable"}, TransientError), ({"error": "internal_error"}, TransientError),
    ({"error": "invalid_auth"}, ReconnectRequired), ({"status": 401, "error": "not_authed"}, ReconnectRequired),
    ({"error": "missing_scope"}, NotPermitted), ({"status": 403, "error": "forbidden"}, NotPermitted),
    ({"error": "channel_not_found"}, NotFound), ({"status": 404, "error": "unknown"}, NotFound),
    ({"error": "msg_too_long"}, ToolError)])
def test_failures_become_connector_errors(slack, session, alex, fault, error):
    slack.fail("chat.postMessage", **fault)
    with pytest.raises(error) as err:
        call(session, alex, "slack_post", {"channel": slack.eng, "text": "hi"}, "act-f")
    assert type(err.value) is error
    if error is RateLimited:
        assert err.value.retry_after == 7.0
    assert BOT_TOKEN not in err.value.message
    assert len(slack.called("chat.postMessage")) == 1 and slack.posted() == []  # no retry by the client


def test_wrong_token_asks_to_reconnect(slack, session, alex, monkeypatch):
    monkeypatch.setenv("WORKMODE_SLACK_BOT_TOKEN", "xoxb-revoked")
    reset_settings()
    with pytest.raises(ReconnectRequired, match="invalid_auth") as err:
        call(session, alex, "slack_history", {"channel": slack.eng})
    assert "xoxb-revoked" not in err.value.message


def test_timeout_is_transient(slack, session, alex, monkeypatch):
    monkeypatch.setenv("WORKMODE_SLACK_TIMEOUT_S", "1")
    reset_settings()
    slack.fail("conversations.history", delay_s=2.5)
    with pytest.raises(TransientError, match="did not answer"):
        call(session, alex, "slack_history", {"channel": slack.eng})


def test_not_configured_asks_to_connect(sqlite_url, monkeypatch):
    use_database(sqlite_url, monkeypatch)
    with Session(get_engine()) as s, pytest.raises(ReconnectRequired, match="Slack is not connected"):
        TOOLS["slack_history"].run(tool_context(session=s, principal_id="p", principal_email=ALEX, org_id="o"),
                                   TOOLS["slack_history"].parse({"channel": "eng"}))



def test_a_persons_own_connection_wins_over_the_workspace_token(slack, session, alex, monkeypatch):
    from services.credentials.service import save

    monkeypatch.setenv("WORKMODE_SLACK_BOT_TOKEN", "xoxb-revoked")
    reset_settings()
    save(session=session, principal_id=alex.id, provider="slack", secret={"bot_token": BOT_TOKEN, "team": "T1"})
    session.commit()
    call(session, alex, "slack_post", {"channel": "eng", "text": "hi"}, "act-own")
    assert len(slack.posted("act-own")) == 1
    save(session=session, principal_id=alex.id, provider="slack", secret={"team": "T1"})
    session.commit()
    with pytest.raises(ReconnectRequired, match="your Slack connection cannot be used"):
        call(session, alex, "slack_post", {"channel": "eng", "text": "hi"}, "act-broken")
