"""The Jira connector (Jira Cloud and Data Center through the `jira` package): the jira_* tools."""
