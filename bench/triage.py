"""Triage benchmark: prompt tokens per email with batching against one request per email, on the
same emails (the labelled set, connectors/sandbox/fixture_triage.py) with the same labels, and
emails per second through the whole pipeline against a zero-latency scripted model.

    .venv/bin/python bench/triage.py [--batch 10] [--db sqlite|URL]

- **tokens**: `services.triage.classify.classify` over the 64 labelled emails, once with batches
  of `--batch` and once with batches of 1 (one request per email). Prompt tokens are what the
  model server reports; the scripted server (tests/fakes/model_server.py) counts a quarter of the
  request's message characters, the same for both sides. The scripted model answers each email
  with its label, read from the request itself, so both sides classify the same emails the same way.
- **pipeline**: the labelled emails in the demo user's sandbox inbox, then one real triage run
  (`services.triage.run.execute_run`: cursor, rules, classification, TriageItems, a Job and its
  Actions through the approval gate) on a scratch store, for each batch size.

Prints a table; the last line is `ratio single/batched = N.Nx` (prompt tokens per email).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _store(db: str) -> None:
    url = f"sqlite:///{tempfile.mkdtemp(prefix='triage-bench-')}/bench.db" if db == "sqlite" else db
    os.environ["WORKMODE_DATABASE_URL"] = url
    os.environ.setdefault("WORKMODE_ENVIRONMENT", "test")
    from services.config import reset_settings
    from services.store.migrate import upgrade

    reset_settings()
    upgrade()


def _mails():
    from connectors.sandbox.fixture_triage import LABELLED
    from services.store.models import new_id, utcnow
    from services.triage.mailbox import Mail

    now = utcnow()
    return [Mail(new_id(), new_id(), e["from"][1], e["from"][0], e["subject"], e["body"], now, ["INBOX", "UNREAD"])
            for e in LABELLED]


def tokens(batch: int) -> dict:
    from services.model.client import ModelClient
    from services.triage.classify import DEFAULT_CATEGORIES, Stats, classify

    mails, stats = _mails(), Stats()
    out = classify(ModelClient(), mails, categories=DEFAULT_CATEGORIES, rules=[], batch_size=batch, stats=stats)
    assert all(c.verdict for c in out), "every email classified"
    return {"emails": len(mails), "requests": stats.requests, "prompt_tokens": stats.prompt_tokens,
            "per_email": stats.prompt_tokens / len(mails)}


def pipeline(batch: int) -> dict:
    from sqlmodel import Session, select

    from connectors.sandbox.fixture_triage import seed_labelled
    from connectors.sandbox.seed import seed_workspace
    from services.config import reset_settings
    from services.model.client import ModelClient
    from services.store.db import get_engine
    from services.store.models import Principal, utcnow
    from services.triage.run import execute_run, start_run

    os.environ["WORKMODE_TRIAGE_BATCH_SIZE"] = str(batch)
    reset_settings()
    with Session(get_engine(), expire_on_commit=False) as s:
        org = seed_workspace(s)
        alex = s.exec(select(Principal).where(Principal.email == "alex@northwind.example")).one()
        s.commit()
        # A first run takes the baseline, so the timed run reads exactly the labelled set.
        first = start_run(s, alex)
        s.commit()
    execute_run(first.id, ModelClient())
    with Session(get_engine(), expire_on_commit=False) as s:
        seed_labelled(s, org.id, utcnow(), start_ago_minutes=0)
        s.commit()
        run = start_run(s, alex)
        s.commit()
    started = time.perf_counter()
    done = execute_run(run.id, ModelClient())
    took = time.perf_counter() - started
    assert done.status == "done", done.error
    n = done.counts["triaged"]
    return {"emails": n, "seconds": took, "per_s": n / took, "proposed": done.counts.get("proposed", 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=10, help="emails per request on the batched side (default 10)")
    ap.add_argument("--db", default="sqlite", help="sqlite (a scratch file, default) or a database URL")
    args = ap.parse_args()

    from tests.fakes.model_server import ScriptedModel, dynamic
    from tests.triage.helpers import classifier

    with ScriptedModel() as model:
        model.set_default(dynamic(classifier()))
        os.environ["WORKMODE_MODEL_BASE_URL"] = model.url
        os.environ["WORKMODE_MODEL_NAME"] = "scripted-model"
        _store(args.db)
        single, batched = tokens(1), tokens(args.batch)
        flow = {}
        for size in (1, args.batch):
            _store(args.db if args.db != "sqlite" else "sqlite")  # a fresh scratch store each time
            flow[size] = pipeline(size)

    print(f"{'':28}{'one per email':>16}{f'batches of {args.batch}':>16}")
    print(f"{'emails':28}{single['emails']:>16}{batched['emails']:>16}")
    print(f"{'model requests':28}{single['requests']:>16}{batched['requests']:>16}")
    print(f"{'prompt tokens':28}{single['prompt_tokens']:>16}{batched['prompt_tokens']:>16}")
    print(f"{'prompt tokens per email':28}{single['per_email']:>16.1f}{batched['per_email']:>16.1f}")
    print(f"{'pipeline emails/s':28}{flow[1]['per_s']:>16.1f}{flow[args.batch]['per_s']:>16.1f}")
    print(f"{'pipeline actions proposed':28}{flow[1]['proposed']:>16}{flow[args.batch]['proposed']:>16}")
    print(f"ratio single/batched = {single['per_email'] / batched['per_email']:.1f}x")


if __name__ == "__main__":
    main()
