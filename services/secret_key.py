"""What production accepts as WORKMODE_SECRET_KEY. The web session signer and the credential
encryption keys derive from it, so it must be at least 32 random bytes and never a placeholder.

The rule, on the key as written (surrounding whitespace and base64 padding ignored):
- hex digits only: at least 64 of them (32 bytes);
- otherwise: at least 43 characters (32 bytes of base64, the shape `secrets.token_urlsafe(48)`
  and `openssl rand -base64 32` give);
- and enough variety: not a known placeholder, not one short block repeated, not mostly one
  character, not a run of consecutive characters such as `abcdef…`.
It cannot measure entropy, only refuse what is surely too little."""
from __future__ import annotations

import itertools
import string

DEV_SECRET = "dev-only-insecure-secret-key-change-me"
HOW_TO_MAKE_ONE = 'make one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
MIN_BYTES = 32

# Every example the project ships (config default, .env.example, infra/k8s/secret.example.yaml,
# README and docs), compared case-insensitively.
KNOWN_PLACEHOLDERS = frozenset(p.lower() for p in (
    DEV_SECRET,
    "replace-with-openssl-rand-hex-32",
    "replace-with-secrets-token-urlsafe-48",
    "change-me", "changeme", "secret", "dev", "test",
))

_HEX = frozenset(string.hexdigits)


def weak_secret_key_reason(key: str) -> str:
    """Why `key` is not good enough for production, or "" when it is. Never repeats the key."""
    text = key.strip()
    if not text:
        return f"is empty; {HOW_TO_MAKE_ONE}"
    if text.lower() in KNOWN_PLACEHOLDERS:
        return f"is a placeholder from the examples, known to everyone; {HOW_TO_MAKE_ONE}"
    body = text.rstrip("=")
    hex_only = all(c in _HEX for c in body)
    need = MIN_BYTES * 2 if hex_only else -(-MIN_BYTES * 4 // 3)  # 64 hex digits, or 43 base64 characters
    if len(body) < need:
        kind = "hex digits" if hex_only else "characters"
        return (f"is too short: production needs at least {need} {kind} "
                f"(32 random bytes); {HOW_TO_MAKE_ONE}")
    if _low_variety(body.lower() if hex_only else body, hex_only):
        return f"has too little variety to be random (repeated or consecutive characters); {HOW_TO_MAKE_ONE}"
    return ""


def _low_variety(text: str, hex_only: bool) -> bool:
    n = len(text)
    if len(set(text)) < (10 if hex_only else 16):
        return True
    if max(text.count(c) for c in set(text)) > n // 3:
        return True
    if any(text == (text[:p] * (n // p + 1))[:n] for p in range(1, n // 2 + 1)):
        return True
    steps = sum(1 for a, b in itertools.pairwise(text) if abs(ord(b) - ord(a)) == 1)
    return steps > n // 2
