"""Inbox triage: read new mail from a cursor, apply the person's rules, classify in batches, and
propose what to do through the approval gate (see docs/architecture.md, "Triage")."""
