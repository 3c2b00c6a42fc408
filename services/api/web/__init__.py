"""Server-rendered pages: sign-in, the approval queue, approvals, jobs, settings."""
