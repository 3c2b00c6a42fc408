"""The web tests' fixtures (the app, a client, a second organisation, and `settle`, which lets the
embedded worker finish between tests; modules that start work use it)."""
from tests.web.conftest import app, client, other_org, settle  # noqa: F401  (fixtures, shared with tests/web)
