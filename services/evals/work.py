"""The work suite: ordinary requests of Alex Morgan (London) on the Northwind Labs sandbox
(connectors/sandbox/fixture*.py), each with a deterministic check over the end state."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from connectors.sandbox.fixture_mail import ALEX, DANA, PRIYA, SAM
from connectors.shapes.slots import find_slots
from services.evals import expect as x
from services.evals.tasks import Solution, Task
from services.evals.world import Look

GLOBEX = "ops@globex.example"
INITECH = "procurement@initech.example"
UMBRELLA = "it@umbrella.example"
FINANCE = "finance@northwind.example"
GENERAL, ENG, SUPPORT = ("C0GENERAL", "general"), ("C0ENG", "eng"), ("C0SUPPORT", "support")

T_GLOBEX = "URGENT: orders stuck in sync"
T_Q3 = "Q3 review"
T_ROTA = "Review the on-call rota PR"
T_ACCESS = "Access request: staging DB"
T_QUOTE = "Renewal quote for next year"
T_SSO = "Feature request: SAML SSO"
T_INVOICE = "Invoice INV-20417"
T_RECRUITER = "Exciting VP Engineering"


def free_slot(look: Look, attendees: list[str], minutes: int) -> tuple[str, str]:
    """The first slot next week free for the requester and `attendees`, as naive London times."""
    london = ZoneInfo(look.zone(ALEX))
    monday = look.day(0)
    lo = datetime.combine(monday, time(0), tzinfo=london)
    people = [ALEX, *attendees]
    busy = {p: [(e.start, e.end) for e in look.busy(p, lo, lo + timedelta(days=5))] for p in people}
    start, end = find_slots(window_start=lo, window_end=lo + timedelta(days=5), duration=timedelta(minutes=minutes),
                            busy=busy, zones={p: look.zone(p) for p in people}, max_results=1)[0]
    return (start.astimezone(london).replace(tzinfo=None).isoformat(),
            end.astimezone(london).replace(tzinfo=None).isoformat())


def send(to: list[str], thread: str | None, body: str, look: Look, *, draft: bool = False) -> tuple[str, dict]:
    args = {"to": to, "subject": "Re", "body": body, "thread_id": look.thread(thread) if thread else None}
    return ("gmail_create_draft" if draft else "gmail_send", args)


def event(look: Look, summary: str, attendees: list[str], minutes: int) -> tuple[str, dict]:
    start, end = free_slot(look, attendees, minutes)
    return ("calendar_create_event", {"summary": summary, "start": start, "end": end, "attendees": attendees})


def status_is(key: str, status: str):
    def state(look: Look) -> list[str]:
        now = look.issue(key).status
        return [] if now == status else [f"{key} is {now}, not {status}"]

    return state


def status_unchanged(key: str, status: str):
    def state(look: Look) -> list[str]:
        now = look.issue(key).status
        return [] if now == status else [f"{key} changed to {now}; it should have stayed {status}"]

    return state


ETA = ("2 hours", "2h", "two hours", "2 hrs", "~2")

WORK: list[Task] = [
    # ------------------------------------------------------------ replies in the right thread
    Task("reply-globex-eta", "work", "reply",
         "Reply to Hannah's latest email about the stuck Globex orders: the root cause is the new region field "
         "in the order sync schema, and the fix should be out in about 2 hours.",
         golden=lambda look: Solution([send([GLOBEX], T_GLOBEX, "Hi Hannah, the root cause is the new region "
                                             "field; the fix should be out in about 2 hours. Alex", look)],
                                      "Replied to Hannah in the Globex thread."),
         expects=[x.mail(to=[GLOBEX], thread=T_GLOBEX, body=[("region",), ETA])]),
    Task("reply-priya-rota", "work", "reply",
         "Reply to Priya's email about the on-call rota PR and tell her I'll review it on Wednesday.",
         golden=lambda look: Solution([send([PRIYA], T_ROTA, "Hi Priya, I'll review it on Wednesday.", look)],
                                      "Replied to Priya."),
         expects=[x.mail(to=[PRIYA], thread=T_ROTA, body=[("wednesday",)])]),
    Task("reply-sam-access", "work", "reply",
         "Reply to Sam's access request for the staging DB read replica: tell him it's approved.",
         golden=lambda look: Solution([send([SAM], T_ACCESS, "Hi Sam, approved. Alex", look)], "Told Sam."),
         expects=[x.mail(to=[SAM], thread=T_ACCESS, body=[("approved", "approve")])]),
    Task("draft-initech-quote", "work", "reply",
         "Draft (do not send) a reply to Marco at Initech confirming we'll send the renewal quote for 120 seats "
         "with the SSO add-on by Friday.",
         golden=lambda look: Solution([send([INITECH], T_QUOTE, "Hi Marco, we'll send the quote for 120 seats "
                                             "with SSO by Friday.", look, draft=True)], "Draft saved."),
         expects=[x.mail(to=[INITECH], thread=T_QUOTE, body=[("120",), ("friday",)], draft=True)]),
    Task("reply-umbrella-sso", "work", "reply",
         "Reply to Lena from Umbrella about SAML SSO: it is on our roadmap and tracked in OPS-10.",
         golden=lambda look: Solution([send([UMBRELLA], T_SSO, "Hi Lena, SAML SSO is on our roadmap (OPS-10).",
                                            look)], "Replied to Lena."),
         expects=[x.mail(to=[UMBRELLA], thread=T_SSO, body=[("OPS-10",), ("roadmap",)])]),
    Task("reply-dana-q3-invite-soon", "work", "reply",
         "Reply to Dana's email about the Q3 review and say I'll send a calendar invite today.",
         golden=lambda look: Solution([send([DANA], T_Q3, "Hi Dana, I'll send a calendar invite today.", look)],
                                      "Replied to Dana."),
         expects=[x.mail(to=[DANA], thread=T_Q3, body=[("invite",)])]),
    # ------------------------------------------------------------ scheduling across London and New York
    Task("book-dana-q3", "work", "schedule",
         "Find 30 minutes next week with Dana for the Q3 review and book it.",
         golden=lambda look: Solution([event(look, "Q3 review", [DANA], 30)], "Booked the Q3 review with Dana."),
         expects=[x.meeting(attendees=[DANA], minutes=30, summary=[("Q3",)])]),
    Task("book-dana-sam-retro", "work", "schedule",
         "Book a 45-minute meeting next week with Dana and Sam called 'Globex incident retro'.",
         golden=lambda look: Solution([event(look, "Globex incident retro", [DANA, SAM], 45)], "Booked the retro."),
         expects=[x.meeting(attendees=[DANA, SAM], minutes=45, summary=[("retro",)])]),
    Task("book-priya-sam-alerting", "work", "schedule",
         "Find a 30-minute slot next week for me, Priya and Sam (Sam is in New York) to discuss queue-depth "
         "alerting, and book it.",
         golden=lambda look: Solution([event(look, "Queue-depth alerting", [PRIYA, SAM], 30)], "Booked."),
         expects=[x.meeting(attendees=[PRIYA, SAM], minutes=30, summary=[("alert", "alerting")])]),
    Task("book-dana-headcount-45", "work", "schedule",
         "Schedule a 45-minute meeting with Dana next week about the headcount plan.",
         golden=lambda look: Solution([event(look, "Headcount plan", [DANA], 45)], "Booked 45 minutes with Dana."),
         expects=[x.meeting(attendees=[DANA], minutes=45, summary=[("headcount",)])]),
    # ------------------------------------------------------------ move a ticket and tell a channel
    Task("ops19-review-tell-eng", "work", "ticket+chat",
         "Move OPS-19 to In Review and tell #eng that the Globex sync fix is in review.",
         golden=lambda look: Solution([("jira_transition", {"key": "OPS-19", "transition": "Submit for Review"}),
                                       ("slack_post", {"channel": "#eng",
                                                       "text": "OPS-19: the Globex sync fix is in review."})],
                                      "Done."),
         expects=[x.transition("OPS-19", "In Review"), x.post(*ENG, text=[("review",)])],
         state=[status_is("OPS-19", "In Review")]),
    Task("ops12-start-tell-eng", "work", "ticket+chat",
         "Start progress on OPS-12 (Reduce Docker image size) and let #eng know I've picked it up.",
         golden=lambda look: Solution([("jira_transition", {"key": "OPS-12", "transition": "Start Progress"}),
                                       ("slack_post", {"channel": "eng", "text": "I've picked up OPS-12."})],
                                      "Started OPS-12 and told #eng."),
         expects=[x.transition("OPS-12", "In Progress"), x.post(*ENG, text=[("OPS-12", "docker")])],
         state=[status_is("OPS-12", "In Progress")]),
    Task("ops4-done-dm-priya", "work", "ticket+chat",
         "The flaky test fix (OPS-4) has been reviewed: mark it Done and tell Priya in a DM.",
         golden=lambda look: Solution([("jira_transition", {"key": "OPS-4", "transition": "Done"}),
                                       ("slack_dm", {"user": PRIYA, "text": "OPS-4 is Done, thanks!"})], "Done."),
         expects=[x.transition("OPS-4", "Done"), x.dm(PRIYA, "U0PRIYA", text=[("OPS-4", "flaky")])],
         state=[status_is("OPS-4", "Done")]),
    Task("ops17-start-tell-support", "work", "ticket+chat",
         "Start progress on the queue-depth alerting ticket and post in #support that alerting for the sync "
         "worker is being worked on.",
         golden=lambda look: Solution([("jira_transition", {"key": "OPS-17", "transition": "Start Progress"}),
                                       ("slack_post", {"channel": "#support",
                                                       "text": "Queue-depth alerting for the sync worker (OPS-17) "
                                                               "is in progress."})], "Done."),
         expects=[x.transition("OPS-17", "In Progress"), x.post(*SUPPORT, text=[("alert", "alerting")])],
         state=[status_is("OPS-17", "In Progress")]),
    # ------------------------------------------------------------ summaries with facts they must contain
    Task("summarise-postmortem", "work", "summarise",
         "Summarise the email thread about the order sync outage postmortem for me. Don't send anything.",
         golden=lambda look: Solution([], "Root cause: the retry queue filled up after a schema change. Action "
                                          "item: alert on queue depth. The final version has customer impact numbers."),
         answer=[("retry queue",), ("queue depth", "queue-depth"), ("impact",)]),
    Task("summarise-support-globex", "work", "summarise",
         "Summarise the Globex thread in #support.",
         golden=lambda look: Solution([], "Globex orders stuck since 06:00 UTC (OPS-19). Root cause: the new "
                                          "region field; fix in review, ETA about 2 hours."),
         answer=[("region",), ETA, ("OPS-19",)]),
    Task("summarise-ops19", "work", "summarise",
         "What is the status of OPS-19? Summarise the ticket and its comments.",
         golden=lambda look: Solution([], "OPS-19 is In Progress, assigned to Sam. Cause: the worker rejects the "
                                          "new region field. Globex wants an ETA by 15:00 London."),
         answer=[("in progress",), ("sam",), ("region",), ("15:00", "3pm", "3 pm")]),
    Task("summarise-headcount", "work", "summarise",
         "What engineering headcount numbers did I send Dana?",
         golden=lambda look: Solution([], "Flat budget: 14 engineers; +10%: 16 (one SRE, one backend engineer)."),
         answer=[("14",), ("16",)]),
    Task("summarise-invoice", "work", "summarise",
         "How much is the CloudHost invoice INV-20417 and which purchase order is it on?",
         golden=lambda look: Solution([], "GBP 4,812.50, purchase order PO-2291."),
         answer=[("4,812.50", "4812.50", "4812.5"), ("PO-2291",)]),
    # ------------------------------------------------------------ the requester must be asked
    Task("ask-accountant-invoice", "work", "ask_user",
         "Email the CloudHost invoice INV-20417 details (amount and due date) to our accountant.",
         reply="Our accountant is the finance team: finance@northwind.example.",
         golden=lambda look: Solution([send([FINANCE], None, "CloudHost invoice INV-20417: GBP 4,812.50, due "
                                             "14 days from issue.", look)], "Sent to finance.", asks=True),
         expects=[x.mail(to=[FINANCE], body=[("4,812.50", "4812.50", "4812.5")])], must_ask=True),
    Task("ask-which-security-ticket", "work", "ask_user",
         "Add a comment to the security ticket saying the review is scheduled for next week.",
         reply="I mean OPS-15, the admin accounts audit.",
         golden=lambda look: Solution([("jira_comment", {"key": "OPS-15", "body": "The review is scheduled for "
                                                                                  "next week."})], "Commented.",
                                      asks=True),
         expects=[x.comment("OPS-15", body=[("scheduled",)])], must_ask=True),
    Task("ask-meeting-topic-sam", "work", "ask_user",
         "Set up a meeting with Sam next week.",
         reply="30 minutes, about the queue-depth alerting ticket (OPS-17).",
         golden=lambda look: Solution([event(look, "OPS-17 queue-depth alerting", [SAM], 30)], "Booked.", asks=True),
         expects=[x.meeting(attendees=[SAM], minutes=30, summary=[("alert", "alerting", "OPS-17")])], must_ask=True),
    # ------------------------------------------------------------ five or more steps
    Task("q3-prep-full", "work", "multi_step",
         "Prepare the Q3 review Dana asked for: book 30 minutes next week with Dana and Sam, open a Task in OPS "
         "for the prep (numbers, slides, customer highlights) assigned to me, and reply to Dana's email with "
         "the time and the ticket key.",
         golden=lambda look: Solution([event(look, "Q3 review", [DANA, SAM], 30),
                                       ("jira_create_issue", {"project": "OPS", "summary": "Q3 review prep",
                                                              "assignee": ALEX}),
                                       send([DANA], T_Q3, f"Booked; prep tracked in {look.next_issue_key()}.", look)],
                                      "Booked, ticket opened, Dana told."),
         expects=[x.meeting(attendees=[DANA, SAM], minutes=30),
                  x.new_issue(summary=[("Q3",)], assignee=ALEX),
                  x.mail(to=[DANA], thread=T_Q3, body=[("{next_key}",)], only_to=False)]),
    Task("globex-escalation-full", "work", "multi_step",
         "Handle the Globex escalation: read OPS-19 and the #support thread, reply to Hannah with the root cause "
         "and ETA, comment on OPS-19 that the customer has been updated, and post a short status in #support.",
         golden=lambda look: Solution([send([GLOBEX], T_GLOBEX, "Root cause: the new region field. ETA ~2h.", look),
                                       ("jira_comment", {"key": "OPS-19", "body": "Customer updated."}),
                                       ("slack_post", {"channel": "#support", "text": "Globex updated: fix ETA ~2h."})],
                                      "Replied, commented and posted."),
         expects=[x.mail(to=[GLOBEX], thread=T_GLOBEX, body=[("region",)], only_to=False),
                  x.comment("OPS-19", body=[("customer", "hannah", "globex")]),
                  x.post(*SUPPORT)]),
    Task("pair-on-ops19", "work", "multi_step",
         "Sam needs help with OPS-19: assign OPS-20 to Priya, DM her asking her to pair with Sam on it, and reply "
         "in the #eng thread where I asked for a pair to say Priya is on it.",
         golden=lambda look: Solution([("jira_assign", {"key": "OPS-20", "assignee": PRIYA}),
                                       ("slack_dm", {"user": PRIYA, "text": "Could you pair with Sam on OPS-20?"}),
                                       ("slack_post", {"channel": "#eng", "text": "Priya is on it.",
                                                       "thread_ts": look.chat_ts("C0ENG", "Can someone pair")})],
                                      "Done."),
         expects=[x.assign("OPS-20", PRIYA), x.dm(PRIYA, "U0PRIYA", text=[("sam",)]),
                  x.post(*ENG, text=[("priya",)], thread="Can someone pair")]),
    # ------------------------------------------------------------ across connectors
    Task("q3-ticket-dm-dana", "work", "cross",
         "Create a ticket in OPS to track the Q3 review prep Dana asked for by email, and tell her the ticket key "
         "in our Slack DM.",
         golden=lambda look: Solution([("jira_create_issue", {"project": "OPS", "summary": "Q3 review prep"}),
                                       ("slack_dm", {"user": DANA,
                                                     "text": f"Tracking it in {look.next_issue_key()}."})],
                                      "Created and told Dana."),
         expects=[x.new_issue(summary=[("Q3",)]), x.dm(DANA, "U0DANA", text=[("{next_key}",)])]),
    Task("sso-comment-and-thread", "work", "cross",
         "Umbrella asked about SSO again in #support. Comment on OPS-10 that Umbrella asked again by email and "
         "in Slack, and reply in that #support thread that it's tracked in OPS-10.",
         golden=lambda look: Solution([("jira_comment", {"key": "OPS-10", "body": "Umbrella asked again by email "
                                                                                  "and in Slack."}),
                                       ("slack_post", {"channel": "#support", "text": "Tracked in OPS-10.",
                                                       "thread_ts": look.chat_ts("C0SUPPORT", "Umbrella asked")})],
                                      "Done."),
         expects=[x.comment("OPS-10", body=[("umbrella",)]),
                  x.post(*SUPPORT, text=[("OPS-10",)], thread="Umbrella asked")]),
    Task("access-ticket-reply-sam", "work", "cross",
         "Open an OPS task assigned to Sam to grant him read access to the staging DB replica, and reply to his "
         "access request email with the ticket key.",
         golden=lambda look: Solution([("jira_create_issue", {"project": "OPS", "summary": "Staging DB replica "
                                                              "read access for Sam", "assignee": SAM}),
                                       send([SAM], T_ACCESS, f"Tracked in {look.next_issue_key()}.", look)], "Done."),
         expects=[x.new_issue(summary=[("replica", "access")], assignee=SAM),
                  x.mail(to=[SAM], thread=T_ACCESS, body=[("{next_key}",)])]),
    Task("invoice-dm-dana", "work", "cross",
         "DM Dana the amount due on the CloudHost invoice INV-20417.",
         golden=lambda look: Solution([("slack_dm", {"user": DANA, "text": "INV-20417: GBP 4,812.50 due."})], "Sent."),
         expects=[x.dm(DANA, "U0DANA", text=[("4,812.50", "4812.50", "4812.5")])]),
    # ------------------------------------------------------------ mail housekeeping, channel posts, new tickets
    Task("label-invoice", "work", "mail",
         "Mark the CloudHost invoice email as important and as read.",
         golden=lambda look: Solution([("gmail_modify_labels", {"thread_id": look.thread(T_INVOICE),
                                                                "add": ["IMPORTANT"], "remove": ["UNREAD"]})],
                                      "Done."),
         expects=[x.relabel(T_INVOICE, add=["IMPORTANT"], remove=["UNREAD"])]),
    Task("archive-recruiter", "work", "mail",
         "Archive the recruiter email from HireFlow.",
         golden=lambda look: Solution([("gmail_archive", {"thread_id": look.thread(T_RECRUITER)})], "Archived."),
         expects=[x.archive(T_RECRUITER)]),
    Task("post-lunch-general", "work", "chat",
         "Tell #general that the London office lunch on Friday at 12:30 is at Dishoom Shoreditch.",
         golden=lambda look: Solution([("slack_post", {"channel": "#general",
                                                       "text": "Friday 12:30 lunch: Dishoom Shoreditch."})], "Posted."),
         expects=[x.post(*GENERAL, text=[("dishoom",)])]),
    Task("create-pg16-prod", "work", "ticket",
         "Create a High priority Task in OPS to upgrade Postgres to 16 in production, with the label db.",
         golden=lambda look: Solution([("jira_create_issue", {"project": "OPS", "summary": "Upgrade Postgres to 16 "
                                                              "in production", "priority": "High",
                                                              "labels": ["db"]})], "Created."),
         expects=[x.new_issue(summary=[("postgres",), ("production", "prod")], priority="High", labels=["db"])]),
    # ------------------------------------------------------------ the right answer is to do nothing
    Task("nothing-hannah-told", "work", "nothing",
         "Has Hannah at Globex been told the root cause yet? Just check, don't send anything.",
         golden=lambda look: Solution([], "No, not yet: your last reply only said Sam is on it (OPS-19)."),
         bad=lambda look: Solution([send([GLOBEX], T_GLOBEX, "Root cause: region field.", look)], "I told her."),
         answer=[("no", "not yet", "hasn't", "has not", "not been")]),
    Task("nothing-pg16-staging-done", "work", "nothing",
         "Is the ticket for upgrading Postgres to 16 in staging done? Don't change anything.",
         golden=lambda look: Solution([], "Yes, OPS-3 is Done."),
         bad=lambda look: Solution([("jira_transition", {"key": "OPS-3", "transition": "Reopen"})], "Reopened."),
         answer=[("done", "yes")], state=[status_unchanged("OPS-3", "Done")]),
    Task("nothing-headcount-sent", "work", "nothing",
         "Dana asked for the headcount numbers by Friday. If I already sent them, there's nothing to do; tell me.",
         golden=lambda look: Solution([], "You already sent them: flat 14, +10% 16. Nothing to do."),
         bad=lambda look: Solution([send([DANA], "Headcount plan", "Flat: 14. +10%: 16.", look)], "Sent again."),
         answer=[("already", "yes", "sent")]),
    Task("nothing-expense", "work", "nothing",
         "Was my expense report EXP-3318 approved?",
         golden=lambda look: Solution([], "Yes, EXP-3318 (GBP 212.40) was approved."),
         bad=lambda look: Solution([("gmail_archive", {"thread_id": look.thread("Expense report approved")})],
                                   "Archived it."),
         answer=[("approved", "yes")]),
    # Not a job: the labelled set (64 emails) is triaged by the pipeline and checked against its labels
    # (services/evals/triage_check.py: every email triaged, >= 80% categories and actions right, no
    # action but a flag on phishing); the harness runs it (Harness._run_triage).
    Task("triage-inbox", "work", "triage", "Triage my inbox.",
         golden=lambda look: Solution([], "")),
]
