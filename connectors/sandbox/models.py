"""Sandbox world tables (filled by the sandbox connector)."""
