"""Finding 1: production refuses a weak WORKMODE_SECRET_KEY (the web session signer and the
credential encryption keys derive from it): empty, short, patterned, or any placeholder the project
ships, with a message that says how to make a good one and never repeats the key."""
from __future__ import annotations

import base64
import os
import re
import secrets
import string

import pytest
import yaml

from services.config import DEV_SECRET, Settings, reset_settings
from tests.support.paths import ROOT


def shipped_placeholders() -> list[str]:
    """The keys the examples ship, read from the files themselves so this test follows them."""
    k8s = yaml.safe_load((ROOT / "infra/k8s/secret.example.yaml").read_text())["stringData"]["WORKMODE_SECRET_KEY"]
    env = re.search(r"^WORKMODE_SECRET_KEY=(.*)$", (ROOT / ".env.example").read_text(), re.M)
    assert env is not None
    return [DEV_SECRET, k8s, env.group(1), "replace-with-openssl-rand-hex-32"]


WEAK = [
    "", "x", "   ", "changeme",
    "a-real-secret-for-this-test-only",            # 32 characters: too short
    secrets.token_hex(16),                         # 16 random bytes as hex
    secrets.token_urlsafe(24),                     # 24 random bytes
    "a" * 64,                                      # one character
    "0123456789abcdef" * 4,                        # a short block repeated
    "Ab3$" * 16,
    string.ascii_letters,                          # consecutive characters
    "x" * 40 + secrets.token_urlsafe(8),           # mostly one character
]


def production(monkeypatch, key: str) -> Settings:
    monkeypatch.setenv("WORKMODE_ENVIRONMENT", "production")
    monkeypatch.setenv("WORKMODE_SECRET_KEY", key)
    reset_settings()
    return Settings()


@pytest.mark.parametrize("key", WEAK + shipped_placeholders())
def test_production_refuses_a_weak_or_placeholder_key(monkeypatch, key):
    with pytest.raises(ValueError) as refused:
        production(monkeypatch, key)
    message = str(refused.value)
    assert "WORKMODE_SECRET_KEY" in message
    assert 'python -c "import secrets; print(secrets.token_urlsafe(48))"' in message
    if len(key.strip()) >= 4:
        assert key.strip() not in message


@pytest.mark.parametrize("key", [
    secrets.token_urlsafe(48),                     # what the message recommends
    secrets.token_urlsafe(32),                     # 32 bytes, 43 characters
    secrets.token_hex(32),                         # openssl rand -hex 32
    base64.b64encode(os.urandom(32)).decode(),     # openssl rand -base64 32 (with padding)
    "  " + secrets.token_urlsafe(48) + "\n",       # pasted with whitespace
])
def test_production_accepts_a_random_key_of_32_bytes(monkeypatch, key):
    assert production(monkeypatch, key).environment == "production"


def test_development_and_tests_keep_the_development_key(monkeypatch):
    for environment in ("development", "test"):
        monkeypatch.setenv("WORKMODE_ENVIRONMENT", environment)
        monkeypatch.delenv("WORKMODE_SECRET_KEY", raising=False)
        assert Settings().secret_key.get_secret_value() == DEV_SECRET
