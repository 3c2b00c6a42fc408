"""Who else a post reaches: the other companies in a Slack Connect channel (the egress policy).

A channel named in `slack_post` may be shared with other organisations; only Slack knows. When a
post is proposed, `post_destinations` asks, with the person's own connection:

- conversations.info: `is_ext_shared` (connected with an outside workspace), `is_pending_ext_shared`
  (an invitation not yet accepted: once it is, the other side reads the channel's history too),
  and the teams in `connected_team_ids` / `shared_team_ids` / `pending_connected_team_ids`, less
  our own (auth.test) and the organisation's other workspaces (`internal_team_ids`). `is_shared`
  alone is also true for a channel shared only inside an Enterprise Grid org (`is_org_shared`),
  which is not outside (https://docs.slack.dev/reference/objects/conversation-object,
  https://docs.slack.dev/apis/slack-connect "Beware of is_shared").
- team.info for each other team: its `email_domain` (comma separated when several) and `domain`
  (its workspace host, <domain>.slack.com), which the organisation's allowed list is checked
  against (https://docs.slack.dev/reference/methods/team.info; scope team:read). A team Slack
  will not describe is returned without domains, so it is flagged as unknown.

Any other failure propagates as a connector error: the engine then flags the proposal as "could
not check who is in this channel" rather than letting it pass unchecked.
"""
from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from connectors.base import Destination, ToolContext
from connectors.shapes.chat import PostArgs
from connectors.slack.client import Slack, connect, slack_error
from connectors.slack.read import find_channel

UNKNOWN_TEAM = {"team_not_found", "access_denied", "not_allowed", "team_access_not_granted"}


def outside_teams(slack: Slack, channel: dict[str, Any]) -> list[str]:
    """Ids of the outside teams in (or invited to) a conversation; [] when it is not shared."""
    if not (channel.get("is_ext_shared") or channel.get("is_pending_ext_shared")
            or (channel.get("is_shared") and not channel.get("is_org_shared"))):
        return []
    own = slack.api.auth_test().get("team_id")
    inside = {own, *(channel.get("internal_team_ids") or [])}
    listed = [*(channel.get("connected_team_ids") or []), *(channel.get("shared_team_ids") or []),
              *(channel.get("pending_connected_team_ids") or [])]
    return [t for t in dict.fromkeys(listed) if t and t not in inside]


def describe_team(slack: Slack, team_id: str) -> Destination:
    try:
        team: dict[str, Any] = slack.api.team_info(team=team_id)["team"]
    except SlackApiError as exc:
        if slack_error(exc) not in UNKNOWN_TEAM:
            raise
        return Destination(f"Slack team {team_id} (Slack does not say whose)")
    domains = [d.strip().lower() for d in str(team.get("email_domain") or "").split(",") if d.strip()]
    if team.get("domain"):
        domains.append(f"{str(team['domain']).lower()}.slack.com")
    return Destination(f"{team.get('name') or team_id} ({team_id})", tuple(dict.fromkeys(domains)))


def post_destinations(ctx: ToolContext, args: PostArgs) -> list[Destination]:
    """The other companies a post in `args.channel` would reach (Slack Connect)."""
    with connect(ctx) as slack:
        ref = find_channel(slack, args.channel)
        channel: dict[str, Any] = slack.api.conversations_info(channel=ref["id"])["channel"]
        teams = outside_teams(slack, channel)
        if not teams and (channel.get("is_ext_shared") or channel.get("is_pending_ext_shared")):
            return [Destination(f"another organisation in {args.channel} (Slack does not say which)")]
        return [describe_team(slack, t) for t in teams]
