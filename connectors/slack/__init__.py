"""The Slack connector (slack_sdk's WebClient): the agent's slack_* tools for reading and posting.
Not the Slack app (services/slackapp), which is how people talk to Workmode."""
