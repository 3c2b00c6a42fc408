#!/usr/bin/env bash
# GPU smoke test: start a preset, check it with `workmode model check`, run a few jobs, print numbers.
#
#   infra/vllm/smoke.sh [--preset NAME] [--url URL] [--dry-run]
#   infra/vllm/smoke.sh --summarize BEFORE.prom AFTER.prom SECONDS     (the numbers from two /metrics scrapes)
#
# On a machine with the GPUs and the weights (HF_TOKEN, or WORKMODE_VLLM_MODEL=/models/...), from the
# repository root with Workmode installed (`pip install --pre -e '.[model]' --extra-index-url
# https://wheels.vllm.ai/nightly`). --url skips starting a server and measures the one given.
# Prints: the check's table, tokens/s, p50 step latency and the prefix-cache hit rate. Everything it
# writes goes to $SMOKE_OUT (default ./smoke-out): server log, check.json, metrics scrapes.
set -euo pipefail

PRESET=${WORKMODE_VLLM_PRESET:-mistral-medium-4gpu}
URL=""
DRY=0
OUT=${SMOKE_OUT:-smoke-out}
JOBS=("Summarise my unread email from the last week" "What meetings do I have tomorrow?"
      "List the open OPS tickets assigned to me, most urgent first")

summarize() {  # BEFORE AFTER SECONDS: tokens/s, p50 request latency, prefix-cache hit rate (vLLM or SGLang)
  python3 - "$1" "$2" "$3" <<'PY'
import re, sys
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
print(f"tokens/s (generated, whole run): {gen / seconds:.1f}" if seconds > 0 else "tokens/s: n/a")
hist = "vllm:e2e_request_latency_seconds" if prefix == "vllm:" else "sglang:e2e_request_latency_seconds"
buckets = sorted((float(le), d(hist + "_bucket", le)) for (n, le) in after if n == hist + "_bucket" and le)
total = d(hist + "_count")
p50 = next((le for le, c in buckets if total and c >= total / 2), None)
print(f"p50 step latency: <= {p50:g} s ({total:.0f} requests)" if p50 is not None else "p50 step latency: n/a")
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
    --dry-run) DRY=1; shift ;;
    --summarize) summarize "$2" "$3" "$4"; exit 0 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

SERVE=(python3 -m services.model.serve --preset "$PRESET")
PORT=$(python3 -m services.model.serve --preset "$PRESET" --dry-run | python3 -c \
  'import shlex,sys; a=shlex.split(sys.stdin.read()); print(a[a.index("--port")+1] if "--port" in a else "")')
MODEL=$(python3 -c "from services.model.serve import resolve; print(resolve('$PRESET', {}).served_model_name)")
BASE=${URL:-http://127.0.0.1:${PORT}/v1}
ROOT=${BASE%/v1}
if workmode eval --help >/dev/null 2>&1; then RUN_JOBS=(workmode eval); else RUN_JOBS=(); fi

if [ "$DRY" = 1 ]; then
  [ -z "$URL" ] && echo "start:   $(python3 -m services.model.serve --preset "$PRESET" --dry-run)"
  echo "check:   workmode model check --url $BASE --model $MODEL --json $OUT/check.json"
  if [ ${#RUN_JOBS[@]} -gt 0 ]; then echo "jobs:    ${RUN_JOBS[*]}"; else
    for job in "${JOBS[@]}"; do echo "jobs:    workmode run --yes \"$job\""; done; fi
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
workmode model check --url "$BASE" --model "$MODEL" --json "$OUT/check.json" || echo "(some checks failed: see above)"
curl -fsS "$ROOT/metrics" >"$OUT/before.prom"
START=$(date +%s)
if [ ${#RUN_JOBS[@]} -gt 0 ]; then "${RUN_JOBS[@]}" || true; else
  for job in "${JOBS[@]}"; do workmode run --yes "$job" || true; done; fi
END=$(date +%s)
curl -fsS "$ROOT/metrics" >"$OUT/after.prom"
echo "== $PRESET: jobs took $((END - START)) s"
summarize "$OUT/before.prom" "$OUT/after.prom" "$((END - START))"
