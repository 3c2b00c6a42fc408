"""Helpers for the browser tests: signing in as a person would, and screenshots in test-artifacts/."""
from __future__ import annotations

from pathlib import Path

from tests.support.paths import ROOT
from tests.support.web import login_link

ARTIFACTS = ROOT / "test-artifacts"


def sign_in(page, base: str, person) -> None:
    """Open a one-time sign-in link and press the button, as a person would."""
    page.goto(f"{base}/login/link/{login_link(person)}")
    page.click("#sign-in")
    page.wait_for_url(f"{base}/queue")


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
