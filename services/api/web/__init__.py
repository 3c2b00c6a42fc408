"""Server-rendered pages: sign-in, the approval queue, approvals, jobs, settings; and the routes that
connect outside accounts (connect.py)."""
