"""Shared Google plumbing for the Gmail and Calendar connectors: configuration, OAuth credentials,
building API clients from the discovery documents shipped with google-api-python-client, and
mapping Google's errors onto the connector errors."""
