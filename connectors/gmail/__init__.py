"""Gmail connector (Gmail API v1 through google-api-python-client): the sandbox's gmail_* tools
against a real mailbox, plus incremental sync for triage (`sync.py`)."""
