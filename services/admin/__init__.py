"""Running Workmode for a company: organisations and their people (roles, deactivation), the
organisation's policy, and just-in-time members from OpenID Connect. Used by the CLI, the REST API
and the web admin pages; every change writes an audit row (services/audit.py) in its transaction."""
