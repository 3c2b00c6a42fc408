"""Prefix stability (bench/scale.py) on the requests of real jobs: the embedded worker runs
bench/engine.py's 11-step job against the scripted model, and `prefix_stability` measures what
a prefix cache could reuse. A per-request change near the start of a request (a timestamp in
the system prompt, tools in a different order) would fail the first test."""
from __future__ import annotations

import copy

from bench.engine import MODEL_TURNS, STEPS, reply_for
from bench.scale import TARGET_PREFIX, job_prompt, prefix_stability
from tests.fakes.model_server import dynamic
from tests.support.jobs import start, wait_status

JOBS = 3


def run_jobs(worker, principal) -> list[dict]:
    worker.set_default(dynamic(reply_for))
    ids = [start(principal, prompt=job_prompt(f"test job {i}")) for i in range(JOBS)]
    for job_id in ids:
        job = wait_status(job_id, "completed", "failed")
        assert (job.status, job.steps, job.model_turns) == ("completed", STEPS, MODEL_TURNS), job.error
    return worker.requests


def test_requests_of_a_job_extend_each_other(worker, workspace):
    _, people = workspace
    requests = run_jobs(worker, people["alex"])
    prefix = prefix_stability(requests)

    assert prefix["jobs"] == JOBS and prefix["requests"] == JOBS * MODEL_TURNS
    assert prefix["within_job"] >= TARGET_PREFIX, prefix
    # Tools, system prompt and the request's header are shared; only the prompts differ.
    assert prefix["across_jobs"] >= 0.9, prefix

    # The measure has teeth: the same requests with a per-request timestamp in the system prompt.
    stamped = copy.deepcopy(requests)
    for n, body in enumerate(stamped):
        system = body["messages"][0]
        system["content"] = f"Current time: 2026-12-01 10:{n:02d}:00\n{system['content']}"
    assert prefix_stability(stamped)["within_job"] < TARGET_PREFIX  # about 0.7
