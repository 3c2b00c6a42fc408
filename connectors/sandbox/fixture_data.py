"""The demo world's people, calendars, tickets and chat, as data (times relative to the seed's `now`)."""
from __future__ import annotations

from connectors.sandbox.fixture_mail import ALEX, DANA, PRIYA, SAM

ORG_NAME = "Northwind Labs"
ORG_DOMAINS = ["northwind.example"]
LONDON, NEW_YORK = "Europe/London", "America/New_York"

# email, name, time zone, Slack id, roles
PEOPLE = [
    (ALEX, "Alex Morgan", LONDON, "U0ALEX", ["approver"]),
    (DANA, "Dana Kim", NEW_YORK, "U0DANA", ["approver"]),
    (PRIYA, "Priya Shah", LONDON, "U0PRIYA", []),
    (SAM, "Sam Rivera", NEW_YORK, "U0SAM", []),
]

# Weekly calendar, repeated for the current and the next working week. Each entry:
# organiser, weekdays (0 = Monday), start, end (organiser's local time), summary, attendees, location.
WEEKLY = [
    (DANA, range(5), "10:00", "10:15", "Daily standup", [ALEX, PRIYA, SAM], "https://meet.example/standup"),
    (ALEX, [0], "09:30", "10:00", "Inbox & planning", [], ""),
    (ALEX, [0], "14:00", "14:45", "Alex / Priya 1:1", [PRIYA], "Room Thames"),
    (ALEX, [0], "15:30", "17:30", "Focus: quarterly planning", [], ""),
    (ALEX, [1], "10:00", "11:00", "Leadership sync", [PRIYA], "Room Thames"),
    (ALEX, [1], "13:00", "14:30", "Globex weekly account call", ["ops@globex.example"], "https://meet.example/globex"),
    (ALEX, [1], "16:00", "17:00", "Hiring panel: Senior SRE", [PRIYA], "Room Severn"),
    (ALEX, [2], "14:00", "15:00", "Architecture review", [PRIYA, SAM], "https://meet.example/arch"),
    (ALEX, [2], "15:30", "17:30", "Focus time", [], ""),
    (ALEX, [3], "11:00", "12:00", "Customer call: Initech", ["procurement@initech.example"], "https://meet.example/initech"),
    (ALEX, [3], "14:00", "16:00", "Vendor review: CloudHost", [PRIYA], "Room Thames"),
    (ALEX, [4], "14:00", "17:30", "Offsite prep", [], ""),
    (DANA, [0], "09:00", "12:00", "Board deck working session", [], ""),
    (DANA, [0], "14:00", "15:00", "Sales pipeline review", [], ""),
    (DANA, [1], "09:00", "10:00", "Finance sync", [], ""),
    (DANA, [1], "11:30", "12:30", "Dana / Sam 1:1", [SAM], "Room Hudson"),
    (DANA, [2], "09:00", "09:45", "Exec staff", [], ""),
    (DANA, [2], "11:00", "12:00", "Customer roadmap call", [], "https://meet.example/roadmap"),
    (DANA, [3], "11:00", "12:30", "Quarterly planning (US)", [SAM], "Room Hudson"),
    (DANA, [4], "09:00", "10:00", "Dana / Sam 1:1", [SAM], "Room Hudson"),
    (PRIYA, [2], "10:00", "12:00", "On-call handover", [], ""),
    (PRIYA, [4], "09:00", "12:00", "Deep work", [], ""),
    (SAM, [0], "13:00", "14:00", "Ops review", [], ""),
    (SAM, [2], "13:00", "15:00", "Incident drills", [], ""),
    (SAM, [3], "14:00", "15:00", "Vendor call: queue provider", [], ""),
]

PROJECT = ("OPS", "Operations", ALEX)
WORKFLOW = [  # from status, transition name, to status
    ("To Do", "Start Progress", "In Progress"),
    ("In Progress", "Submit for Review", "In Review"),
    ("In Progress", "Stop Progress", "To Do"),
    ("In Review", "Done", "Done"),
    ("In Review", "Back to In Progress", "In Progress"),
    ("Done", "Reopen", "To Do"),
]

# summary, type, status, assignee, reporter, priority, labels, created (days ago), description, comments
TICKETS = [
    ("Set up staging log retention", "Task", "Done", SAM, ALEX, "Low", ["infra"], 40, "Keep 30 days of logs.", []),
    ("Document the deploy runbook", "Task", "Done", PRIYA, ALEX, "Medium", ["docs"], 38, "",
     [(SAM, 30, "Reviewed, LGTM.")]),
    ("Upgrade Postgres to 16 in staging", "Task", "Done", SAM, PRIYA, "Medium", ["infra", "db"], 35, "", []),
    ("Flaky test: test_invoice_totals", "Bug", "In Review", PRIYA, SAM, "Low", ["ci"], 30, "Fails 1 in 20 runs.", []),
    ("Clean up unused feature flags", "Task", "Done", ALEX, PRIYA, "Lowest", ["tech-debt"], 25, "", []),
    ("On-call rota for the US team", "Task", "In Review", PRIYA, DANA, "Medium", ["oncall"], 21,
     "Move the US rotation to New York hours.", [(ALEX, 1, "Reviewing the PR this week.")]),
    ("Rotate staging TLS certificates", "Task", "In Progress", PRIYA, SAM, "High", ["security", "infra"], 18,
     "Certificates expire at the end of the month.", [(PRIYA, 2, "Done for api and web.")]),
    ("Customer impact dashboard", "Story", "To Do", None, DANA, "Medium", ["customer"], 16, "", []),
    ("Invoice PDF shows wrong VAT rounding", "Bug", "To Do", None, PRIYA, "Medium", ["billing", "customer"], 14,
     "Rounding per line instead of per invoice.", []),
    ("SAML SSO (Okta) for enterprise plan", "Epic", "To Do", None, DANA, "High", ["customer", "sso"], 12,
     "Requested by Umbrella and Initech.", [(DANA, 3, "Umbrella asked again; 300 seats depend on it.")]),
    ("Migrate cron jobs to Celery beat", "Task", "In Progress", SAM, ALEX, "Medium", ["infra"], 11, "", []),
    ("Reduce Docker image size", "Task", "To Do", None, PRIYA, "Low", ["infra"], 10, "", []),
    ("Renewal quote tooling for sales", "Story", "To Do", ALEX, DANA, "Medium", ["sales"], 9, "", []),
    ("Backups: test restore quarterly", "Task", "In Progress", PRIYA, ALEX, "High", ["db"], 8,
     "Restore last night's backup into a scratch instance and time it.", []),
    ("Audit admin accounts", "Task", "To Do", PRIYA, ALEX, "Medium", ["security"], 7, "", []),
    ("Slack alerts are too noisy at night", "Bug", "To Do", None, SAM, "Low", ["monitoring", "oncall"], 6, "", []),
    ("Queue-depth alerting for the sync worker", "Task", "To Do", SAM, ALEX, "High", ["monitoring", "postmortem"], 5,
     "Action item from the order sync postmortem: alert when the retry queue grows.", []),
    ("Rate limiting on the public API", "Story", "To Do", None, DANA, "Medium", ["api"], 4, "", []),
    ("Globex order sync: retries exhausted", "Bug", "In Progress", SAM, ALEX, "Highest",
     ["customer", "globex", "incident"], 1,
     "Batches from 4471 fail with 'retries exhausted'. ~340 orders stuck.",
     [(SAM, 1, "Looks like the schema change from Monday; the worker rejects the new 'region' field."),
      (ALEX, 0, "Globex wants an ETA by 15:00 London.")]),
    ("Add region field to the order sync schema", "Task", "To Do", SAM, SAM, "High", ["globex"], 1, "", []),
]

# id, name, members, topic
CHANNELS = [
    ("C0GENERAL", "general", [ALEX, DANA, PRIYA, SAM], "Company-wide announcements"),
    ("C0ENG", "eng", [ALEX, DANA, PRIYA, SAM], "Engineering"),
    ("C0SUPPORT", "support", [ALEX, PRIYA, SAM], "Customer issues and escalations"),
]
DMS = [("D0ALEXDANA", [ALEX, DANA]), ("D0ALEXPRIYA", [ALEX, PRIYA])]

# channel, user, minutes ago, text, replies [(user, minutes ago, text)]
CHAT = [
    ("C0GENERAL", DANA, 4320, "Welcome to our new SRE, Jamie, starting Monday! :wave:", [
        (PRIYA, 4300, "Welcome Jamie!"), (SAM, 4100, "Welcome :tada:")]),
    ("C0GENERAL", PRIYA, 2880, "London office lunch on Friday 12:30 — reply in thread if you're in.", [
        (ALEX, 2870, "In!")]),
    ("C0GENERAL", DANA, 600, "Reminder: Q3 numbers due next week. Thanks everyone.", []),
    ("C0ENG", SAM, 1500, "Heads-up: the order sync schema change (region field) is deployed.", []),
    ("C0ENG", PRIYA, 1400, "Postgres 16 upgrade in staging is done; prod next sprint.", [
        (SAM, 1390, "Nice. Any surprises?"), (PRIYA, 1380, "Only the extension upgrade order.")]),
    ("C0ENG", ALEX, 200, "Can someone pair with Sam on OPS-19 today? Globex is blocked.", [
        (PRIYA, 190, "I can after my 2pm."), (SAM, 180, "Thanks Priya, I'll ping you.")]),
    ("C0SUPPORT", SAM, 1440, "Globex reports orders stuck in sync since 06:00 UTC. Tracking in OPS-19.", [
        (ALEX, 1430, "I'm their contact, I'll handle comms."),
        (SAM, 60, "Root cause: the new region field. Fix in review, ETA ~2h.")]),
    ("C0SUPPORT", PRIYA, 300, "Umbrella asked again about SAML SSO (OPS-10).", []),
    ("D0ALEXDANA", DANA, 130, "Sent you an email about the Q3 review — can you find us a slot next week?", []),
    ("D0ALEXPRIYA", PRIYA, 1000, "Thanks for reviewing the rota PR!", []),
]
