"""Schedules: a person's standing requests (triage, report, request) at times they name.

recurrence.py  "weekdays 08:00" / RRULE → a canonical python-dateutil rrule; slots in the person's zone
service.py     add, list, pause, resume, remove, run now (what the CLI, REST, web and Slack call)
tick.py        the once-a-minute tick: claim each due slot with its unique row, catch up, start
start.py       starting a claimed run by kind (a TriageRun, or a Job for report/request)
"""
