"""The report: per-task rows, the summary, the table, and what changed between two reports."""
from __future__ import annotations

import math
from statistics import mean
from typing import Any, Optional

STEP_METRIC = "workmode_step_duration_seconds"


def _rate(values: list[bool]) -> Optional[float]:
    return round(sum(values) / len(values), 3) if values else None


def per_task(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per task: its runs aggregated (success is the share of runs that succeeded)."""
    order: list[str] = []
    by_id: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        if r["id"] not in by_id:
            order.append(r["id"])
        by_id.setdefault(r["id"], []).append(r)
    rows = []
    for task_id in order:
        runs = by_id[task_id]
        first = runs[0]
        if "skipped" in first:
            rows.append({"id": task_id, "suite": first["suite"], "kind": first["kind"], "skipped": first["skipped"]})
            continue
        row: dict[str, Any] = {
            "id": task_id, "suite": first["suite"], "kind": first["kind"], "runs": len(runs),
            "success_rate": _rate([r["success"] for r in runs]),
            "steps": round(mean(r["steps"] for r in runs), 1),
            "model_turns": round(mean(r["model_turns"] for r in runs), 1),
            "tokens": round(mean(r["tokens"] for r in runs)),
            "wall_s": round(mean(r["wall_s"] for r in runs), 1),
            "unapproved_side_effects": sum(r["unapproved_side_effects"] for r in runs),
            "results": runs,
        }
        attacks = [r["attack"] for r in runs if "attack" in r]
        if attacks:
            row["attack_proposed_rate"] = _rate([a["proposed"] for a in attacks])
        rows.append(row)
    return rows


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    ran = [r for r in results if "skipped" not in r]
    attacks = [r["attack"] for r in ran if "attack" in r]
    proposals = sum(a["proposals"] for a in attacks)
    return {
        "tasks": len({r["id"] for r in ran}),
        "runs": len(ran),
        "skipped": sorted({r["id"] for r in results if "skipped" in r}),
        "success_rate": _rate([r["success"] for r in ran]),
        "attack_proposed_rate": _rate([a["proposed"] for a in attacks]),
        "risk_flag_coverage": round(sum(a["flagged"] for a in attacks) / proposals, 3) if proposals else None,
        "unapproved_side_effects": sum(r["unapproved_side_effects"] for r in ran),
        "by_suite": {suite: _rate([r["success"] for r in ran if r["suite"] == suite])
                     for suite in sorted({r["suite"] for r in ran})},
    }


def step_latency(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The agent steps taken between two readings of Workmode's own step histogram
    (services.metrics.step_histogram; one step = a model turn and its tool calls): how many, their
    mean (exact: seconds summed over count) and their median, interpolated within the bucket that
    holds it as Prometheus' histogram_quantile does. `p50_bucket_s` gives that bucket's bounds: the
    true median lies between them (the upper one is None past the last bucket)."""
    earlier = dict(before["buckets"])
    buckets = [(le, n - earlier.get(le, 0.0)) for le, n in after["buckets"]]
    steps = after["count"] - before["count"]
    out: dict[str, Any] = {"source": STEP_METRIC, "steps": round(steps), "p50_s": None, "mean_s": None,
                           "p50_bucket_s": None}
    if steps <= 0:
        return out
    out["mean_s"] = round((after["sum"] - before["sum"]) / steps, 3)
    rank, lower, below = steps / 2, 0.0, 0.0
    for le, cumulative in buckets:
        if cumulative >= rank:
            if math.isinf(le):  # past the last finite bound: its lower edge is all that is known
                out["p50_s"], out["p50_bucket_s"] = round(lower, 3), [lower, None]
            else:
                share = (rank - below) / (cumulative - below) if cumulative > below else 1.0
                out["p50_s"], out["p50_bucket_s"] = round(lower + (le - lower) * share, 3), [lower, le]
            break
        lower, below = le, cumulative
    return out


def step_line(latency: dict[str, Any]) -> str:
    if not latency.get("steps"):
        return "agent steps: none measured"
    lo, hi = latency["p50_bucket_s"]
    within = f"between {lo:g} and {hi:g} s" if hi is not None else f"above {lo:g} s"
    return (f"agent steps: {latency['steps']}, p50 {latency['p50_s']:g} s ({within}), mean {latency['mean_s']:g} s "
            f"({latency['source']})")


def report(results: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary(results), "meta": meta, "tasks": per_task(results)}


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def table(doc: dict[str, Any]) -> str:
    head = ["task", "suite", "success", "steps", "turns", "tokens", "wall s", "attack"]
    rows = []
    for t in doc["tasks"]:
        if "skipped" in t:
            rows.append([t["id"], t["suite"], "skipped", "", "", "", "", t["skipped"]])
            continue
        ok = sum(r["success"] for r in t["results"])
        attack = t.get("attack_proposed_rate")
        rows.append([t["id"], t["suite"], f"{ok}/{t['runs']}", _fmt(t["steps"]), _fmt(t["model_turns"]),
                     str(t["tokens"]), _fmt(t["wall_s"]), "" if attack is None else f"proposed {_fmt(attack)}"])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [head, *rows]]
    s = doc["summary"]
    lines += ["", "summary: " + ", ".join(f"{k} {_fmt(s[k])}" for k in (
        "tasks", "success_rate", "attack_proposed_rate", "risk_flag_coverage", "unapproved_side_effects"))]
    return "\n".join(lines)


def failures(doc: dict[str, Any]) -> str:
    out = []
    for t in doc["tasks"]:
        for r in t.get("results", []):
            if not r["success"]:
                out.append(f"{t['id']} (run {r['run']}): " + "; ".join(r["failures"][:4]))
    return "\n".join(out)


def compare(a: dict[str, Any], b: dict[str, Any]) -> str:
    """What changed from report A to report B: the summary, then each task whose result moved."""
    lines = ["summary (A → B):"]
    for key in ("tasks", "success_rate", "attack_proposed_rate", "risk_flag_coverage", "unapproved_side_effects"):
        va, vb = a["summary"].get(key), b["summary"].get(key)
        mark = "" if va == vb else "   *"
        lines.append(f"  {key}: {_fmt(va)} → {_fmt(vb)}{mark}")
    ta = {t["id"]: t for t in a["tasks"]}
    tb = {t["id"]: t for t in b["tasks"]}
    changed = []
    for task_id in list(ta) + [i for i in tb if i not in ta]:
        x, y = ta.get(task_id), tb.get(task_id)
        if x is None or y is None:
            changed.append(f"  {task_id}: {'only in B' if x is None else 'only in A'}")
            continue
        for key in ("success_rate", "attack_proposed_rate", "unapproved_side_effects", "skipped"):
            if x.get(key) != y.get(key):
                changed.append(f"  {task_id}: {key} {_fmt(x.get(key))} → {_fmt(y.get(key))}")
        for key in ("steps", "model_turns", "tokens"):
            if key in x and key in y and x[key] != y[key]:
                changed.append(f"  {task_id}: {key} {_fmt(x[key])} → {_fmt(y[key])}")
    lines += ["tasks that changed:"] + (changed or ["  none"])
    return "\n".join(lines)
