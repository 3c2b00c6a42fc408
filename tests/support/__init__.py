"""Plain helpers the tests import (no fixtures: those live in the conftest.py files)."""
