#!/usr/bin/env bash
# GPU smoke test: start a preset, check it with `workmode model check`, run a few eval jobs, print numbers.
#
#   infra/vllm/smoke.sh [--preset NAME | --url URL] [--task ID ...] [--full] [--dry-run]
#   infra/vllm/smoke.sh --summarize BEFORE.prom AFTER.prom SECONDS [EVAL.json]   (the numbers, from the files)
#
# On a machine with the GPUs and the weights (HF_TOKEN, or WORKMODE_VLLM_MODEL=/models/...), from the
# repository root with Workmode installed (`pip install --pre -e '.[model]' --extra-index-url
# https://wheels.vllm.ai/nightly`). --url skips starting a server and measures the one given.
# The jobs: three tasks of the work suite (a reply, a calendar slot, one across three connectors), as
# real jobs through `workmode eval`; --task ID (repeatable) picks others, --full runs both whole suites
# (about 57 tasks, each allowed up to 600 s: hours, not minutes).
# Prints: the check's table, the eval's table, tokens/s, p50 step latency and the prefix-cache hit
# rate. Everything it writes goes to $SMOKE_OUT (default ./smoke-out): server log, check.json,
# eval.json, metrics scrapes.
set -euo pipefail

PRESET=${WORKMODE_VLLM_PRESET:-mistral-medium-4gpu}
URL=""
DRY=0
FULL=0
TASKS=()
DEFAULT_TASKS=(reply-priya-rota book-dana-q3 globex-escalation-full)
OUT=${SMOKE_OUT:-smoke-out}

summarize() {  # BEFORE AFTER SECONDS [EVAL_JSON]
  python3 - "$@" <<'PY'
import json, re, sys
def read(path):
    series = {}
    for line in open(path):
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m and not line.startswith("#"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            key = (m.group(1), labels.get("le"))
            series[key] = series.get(key, 0.0) + float(m.group(3))
    return series
before, after, seconds = read(sys.argv[1]), read(sys.argv[2]), float(sys.argv[3])
d = lambda name, le=None: after.get((name, le), 0.0) - before.get((name, le), 0.0)
for prefix in ("vllm:", "sglang:"):
    if any(k[0].startswith(prefix) for k in after):
        break
gen = d(prefix + "generation_tokens_total")
print(f"tokens/s: {gen / seconds:.1f} (tokens the engine generated during the jobs / their wall time, "
      "all concurrent requests together)" if seconds > 0 else "tokens/s: n/a")
# p50 step latency: Workmode's own per-step histogram (workmode_step_duration_seconds: one model turn
# and its tool calls), read by `workmode eval` around its run and written to its report.
latency = {}
if len(sys.argv) > 4:
    try:
        latency = json.load(open(sys.argv[4])).get("step_latency") or {}
    except (OSError, ValueError):
        latency = {}
if latency.get("steps"):
    lo, hi = latency["p50_bucket_s"]
    within = f"between {lo:g} and {hi:g} s" if hi is not None else f"above {lo:g} s"
    print(f"p50 step latency: {latency['p50_s']:g} s ({within}; mean {latency['mean_s']:g} s over "
          f"{latency['steps']} agent steps, {latency['source']})")
else:
    print("p50 step latency: n/a (no eval report with agent steps)")
hist = prefix + "e2e_request_latency_seconds"
buckets = sorted((float(le), d(hist + "_bucket", le)) for (n, le) in after if n == hist + "_bucket" and le)
total = d(hist + "_count")
p50 = next((le for le, c in buckets if total and c >= total / 2), None)
print(f"p50 model request: <= {p50:g} s (the engine's {hist} bucket bound, {total:.0f} requests)"
      if p50 is not None else "p50 model request: n/a")
if prefix == "vllm:":
    q = d("vllm:prefix_cache_queries_total") or d("vllm:prefix_cache_queries")
    h = d("vllm:prefix_cache_hits_total") or d("vllm:prefix_cache_hits")
    print(f"prefix-cache hit rate: {h / q:.0%}" if q else "prefix-cache hit rate: n/a")
else:
    print(f"prefix-cache hit rate: {after.get(('sglang:cache_hit_rate', None), 0.0):.0%}")
PY
}

while [ $# -gt 0 ]; do
  case "$1" in
    --preset) PRESET=$2; shift 2 ;;
    --url) URL=$2; shift 2 ;;
    --task) TASKS+=("$2"); shift 2 ;;
    --full) FULL=1; shift ;;
    --dry-run) DRY=1; shift ;;
    --summarize) shift; summarize "$@"; exit 0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$FULL" = 1 ] && [ ${#TASKS[@]} -gt 0 ]; then echo "error: --full runs every task; drop --task" >&2; exit 2; fi
[ ${#TASKS[@]} -gt 0 ] || TASKS=("${DEFAULT_TASKS[@]}")

SERVE=(python3 -m services.model.serve --preset "$PRESET")
PORT=$(python3 -m services.model.serve --preset "$PRESET" --dry-run | python3 -c \
  'import shlex,sys; a=shlex.split(sys.stdin.read()); print(a[a.index("--port")+1] if "--port" in a else "")')
MODEL=$(python3 -c "from services.model.serve import resolve; print(resolve('$PRESET', {}).served_model_name)")
BASE=${URL:-http://127.0.0.1:${PORT}/v1}
ROOT=${BASE%/v1}
jobs_command() {  # the eval run, with the tool mode the check recommended when there is one
  local mode=""
  [ -f "$OUT/check.json" ] && mode=$(python3 -c \
    'import json,sys; print(json.load(open(sys.argv[1])).get("recommended_tool_mode") or "")' "$OUT/check.json" || true)
  JOBS=(workmode eval --model-url "$BASE" --model-name "$MODEL" --out "$OUT/eval.json")
  if [ "$FULL" = 1 ]; then JOBS+=(--suite all); else
    JOBS+=(--suite work); for t in "${TASKS[@]}"; do JOBS+=(--task "$t"); done; fi
  if [ -n "$mode" ]; then JOBS+=(--tool-mode "$mode"); fi
  return 0
}

if [ "$DRY" = 1 ]; then
  [ -z "$URL" ] && echo "start:   $(python3 -m services.model.serve --preset "$PRESET" --dry-run)"
  echo "check:   workmode model check --url $BASE --model $MODEL --json $OUT/check.json"
  jobs_command
  echo "jobs:    ${JOBS[*]}"
  echo "metrics: $ROOT/metrics before and after"
  exit 0
fi

mkdir -p "$OUT"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true; }
trap cleanup EXIT
if [ -z "$URL" ]; then
  "${SERVE[@]}" >"$OUT/server.log" 2>&1 &
  SERVER_PID=$!
  echo "started $PRESET (pid $SERVER_PID); log: $OUT/server.log"
  for _ in $(seq 1 720); do  # up to an hour: the first start downloads the weights
    curl -fsS "$ROOT/health" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server exited:"; tail -30 "$OUT/server.log"; exit 1; }
    sleep 5
  done
fi

export WORKMODE_MODEL_BASE_URL=$BASE WORKMODE_MODEL_NAME=$MODEL
rm -f "$OUT/check.json" "$OUT/eval.json"
workmode model check --url "$BASE" --model "$MODEL" --json "$OUT/check.json" || echo "(some checks failed: see above)"
jobs_command
curl -fsS "$ROOT/metrics" >"$OUT/before.prom"
START=$(date +%s)
"${JOBS[@]}" || true
END=$(date +%s)
curl -fsS "$ROOT/metrics" >"$OUT/after.prom"
echo "== $PRESET: jobs took $((END - START)) s"
summarize "$OUT/before.prom" "$OUT/after.prom" "$((END - START))" "$OUT/eval.json"
