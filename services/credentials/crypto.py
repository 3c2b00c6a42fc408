"""Encryption of stored credentials with keys derived from WORKMODE_SECRET_KEY.

HKDF-SHA256 turns the secret key into a Fernet key (AES-128-CBC + HMAC-SHA256). The plaintext
names the principal and provider it belongs to, so a ciphertext copied onto another row does not
decrypt as that row's credential.
"""
from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_SALT = b"workmode/credentials/v1"
_INFO = b"fernet-key"


class CredentialError(Exception):
    """A stored credential cannot be read (the secret key changed, or the row was tampered with)."""


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret_key: str, *, principal_id: str, provider: str, secret: dict[str, Any]) -> str:
    plain = json.dumps({"principal": principal_id, "provider": provider, "secret": secret}, separators=(",", ":"))
    return _fernet(secret_key).encrypt(plain.encode()).decode()


def decrypt(secret_key: str, ciphertext: str, *, principal_id: str, provider: str) -> dict[str, Any]:
    try:
        plain = json.loads(_fernet(secret_key).decrypt(ciphertext.encode()))
    except (InvalidToken, ValueError):
        raise CredentialError(
            f"the stored {provider} credential cannot be decrypted (was WORKMODE_SECRET_KEY changed?); reconnect"
        ) from None
    if plain.get("principal") != principal_id or plain.get("provider") != provider:
        raise CredentialError(f"the stored {provider} credential does not belong to this account; reconnect")
    return plain["secret"]
