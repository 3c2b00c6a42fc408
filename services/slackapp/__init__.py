"""The Slack app: `/work`, progress in the job's thread, approvals with buttons, App Home.

app.py builds the bolt App and registers the features; http.py mounts it at /slack/events
(FastAPI); `workmode slack --socket` runs it over Socket Mode. Messages about a job are written
only by the notifier (sync.py, run by the `workmode.notify.job` task)."""
