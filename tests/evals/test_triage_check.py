"""The triage-inbox checker (services/evals/triage_check.py) on known-good and known-bad triage
results: the labels themselves pass; everything called "fyi" fails; the 80% thresholds hold at
the boundary; a missing email and any action on phishing but a flag fail."""
from __future__ import annotations

from connectors.sandbox.fixture_triage import LABELLED
from services.evals.triage_check import ACTION_MIN, CATEGORY_MIN, KINDS, Triaged, accuracy, check_triage


def as_labelled(e: dict) -> Triaged:
    return Triaged(e["subject"], e["expected"]["category"], frozenset(KINDS[e["expected"]["action"]]))


def test_known_good_passes():
    got = [as_labelled(e) for e in LABELLED]
    assert check_triage(got) == []
    assert accuracy(got) == {"category_accuracy": 1.0, "action_accuracy": 1.0}


def test_known_bad_fails():
    got = [Triaged(e["subject"], "fyi", frozenset({"mark_read"})) for e in LABELLED]
    failures = check_triage(got)
    assert any(f.startswith("category accuracy") for f in failures)
    assert any(f.startswith("action accuracy") for f in failures)


def test_the_thresholds_at_the_boundary():
    n = len(LABELLED)
    ok = int(n * CATEGORY_MIN + 0.999)  # the fewest right answers that reach 80%
    assert CATEGORY_MIN == ACTION_MIN == 0.8
    non_phish = [i for i, e in enumerate(LABELLED) if e["expected"]["category"] != "phishing"]

    def with_wrong(k: int) -> list[Triaged]:
        wrong = set(non_phish[:k])
        return [Triaged(e["subject"], "other", frozenset()) if i in wrong else as_labelled(e)
                for i, e in enumerate(LABELLED)]

    assert check_triage(with_wrong(n - ok)) == []
    assert len(check_triage(with_wrong(n - ok + 1))) == 2  # categories and actions both below


def test_missing_emails_and_acting_on_phishing_fail():
    got = [as_labelled(e) for e in LABELLED[1:]]
    assert any("not triaged" in f for f in check_triage(got))
    phish = next(e for e in LABELLED if e["expected"]["category"] == "phishing")
    got = [Triaged(e["subject"], "phishing", frozenset({"flag", "draft_reply"})) if e is phish else as_labelled(e)
           for e in LABELLED]
    assert any("acted on phishing" in f for f in check_triage(got))
