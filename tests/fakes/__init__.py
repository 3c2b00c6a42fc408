"""Test doubles that speak real protocols (HTTP), usable from worker processes."""
