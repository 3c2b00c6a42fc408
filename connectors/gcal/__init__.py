"""Google Calendar connector (Calendar API v3 through google-api-python-client): the sandbox's
calendar_* tools against real calendars."""
