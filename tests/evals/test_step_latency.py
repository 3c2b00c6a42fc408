"""The p50 step latency `workmode eval` writes to its report (and infra/vllm/smoke.sh prints): read
from Workmode's own step histogram around the run, the median interpolated within its bucket."""
from __future__ import annotations

import math

from services import metrics
from services.evals.report import step_latency, step_line


def test_steps_between_two_readings_of_the_real_histogram():
    before = metrics.step_histogram()
    for seconds in (0.3, 0.7, 0.8, 4.0):  # as the runner records them, one per step
        metrics.STEP_SECONDS.labels(outcome="continue").observe(seconds)
    metrics.STEP_SECONDS.labels(outcome="completed").observe(0.9)
    latency = step_latency(before, metrics.step_histogram())
    assert latency["steps"] == 5 and latency["source"] == "workmode_step_duration_seconds"
    assert math.isclose(latency["mean_s"], 6.7 / 5, abs_tol=1e-3)
    # Rank 2.5 of 5: one step at or below 0.5 s, three in (0.5, 1.0]: 0.5 + 0.5 * 1.5/3.
    assert latency["p50_s"] == 0.75 and latency["p50_bucket_s"] == [0.5, 1.0]
    assert step_line(latency).startswith("agent steps: 5, p50 0.75 s (between 0.5 and 1 s), mean 1.34 s")


def test_no_steps_and_steps_past_the_last_bucket():
    empty = {"buckets": [(1.0, 0.0), (math.inf, 0.0)], "count": 0.0, "sum": 0.0}
    assert step_latency(empty, empty)["p50_s"] is None
    assert step_line(step_latency(empty, empty)) == "agent steps: none measured"
    slow = {"buckets": [(1.0, 0.0), (300.0, 1.0), (math.inf, 4.0)], "count": 4.0, "sum": 2000.0}
    latency = step_latency(empty, slow)
    assert latency["p50_s"] == 300.0 and latency["p50_bucket_s"] == [300.0, None]
    assert "(above 300 s)" in step_line(latency)
