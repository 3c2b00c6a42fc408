"""The triage digest: one per TriageRun, grouped by what needs the person, highest priority first,
each item linked to its original message (`build.py`); deciding from it, the low-risk batch
included (`batch.py`). The Slack DM (`services/slackapp/digest.py`) and the web page
(`services/api/web/triage.py`) render the same `Digest`."""
