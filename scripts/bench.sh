#!/usr/bin/env bash
# One command for the benchmarks in BENCHMARKS.md:
#
#   scripts/bench.sh            # full run (REPS=3), ~25 min on 2 cores
#   scripts/bench.sh quick      # small numbers, checks the tooling (~3 min)
#
# Runs every scenario against easel, the bare baseline and the reference
# server (@y/websocket-server 0.1.1 from tests/interop), alternating
# (easel baseline reference easel baseline reference ...), each run on a
# freshly started server, and prints a table of medians with ratios.
#
# Environment:
#   REPS=3                       repetitions
#   SCENARIOS="saturation burst memory durable join coldload"
#   SERVERS="easel baseline reference"
#   GEN_THREADS=1                load generator threads
#   SAT_GEN_THREADS=2            load generator threads for saturation: one thread
#                                tops out near 64k updates/s sent, below a fast
#                                host's ceiling for the baseline
#   SAT_RATES=0.5,1,...,128      saturation ramp (updates/s per typist); it stops at
#                                the first step whose p99 passes 100 ms
#   EASEL_BIN, BASELINE_BIN, LOADGEN_BIN   prebuilt binaries (else cargo build --release)
#   EASEL_BEFORE_BIN             a second easel build (e.g. the commit before a change)
#                                benchmarked as server "before": add it to SERVERS
#                                (SERVERS="easel before baseline"). It is started exactly
#                                like easel (same flags, fixture, fresh data dir) and the
#                                table gains a "before" column and an easel/before ratio
#   EASEL_ARGS                   extra `easel serve` flags
#   EASEL_TOKEN, EASEL_CHARTS_FILE  an edit token and chart ids (one per line) to use on
#                                easel; by default each fresh easel gets a benchmark
#                                conference with 300 sessions (scripts/bench-fixture.py)
#   REF_DIR=tests/interop        where `npm ci` installed the reference server
#   OUT=target/bench/DATE        results (results.jsonl, table.md, server logs)
#   KEEP_DATA=1                  keep every easel data dir (default: each is removed when done)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-full}
REPS=${REPS:-3}
SCENARIOS=${SCENARIOS:-"saturation burst memory durable join coldload"}
SERVERS=${SERVERS:-"easel baseline reference"}
GEN_THREADS=${GEN_THREADS:-1}
SAT_GEN_THREADS=${SAT_GEN_THREADS:-2}
REF_DIR=${REF_DIR:-$ROOT/tests/interop}
OUT=${OUT:-$ROOT/target/bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl

# 3,000 clients + 3,000 server sockets live on this machine at once.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 8192 ]; then
  echo "bench: ulimit -n is $(ulimit -n); need >= 8192 (raise the hard limit)" >&2
  exit 1
fi

if [ -z "${EASEL_BIN:-}" ] || [ -z "${BASELINE_BIN:-}" ] || [ -z "${LOADGEN_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release -p easel -p easel-baseline -p easel-loadgen)
  TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
  EASEL_BIN=${EASEL_BIN:-$TARGET/release/easel}
  BASELINE_BIN=${BASELINE_BIN:-$TARGET/release/easel-baseline}
  LOADGEN_BIN=${LOADGEN_BIN:-$TARGET/release/easel-loadgen}
fi
case " $SERVERS " in
  *" before "*)
    if [ -z "${EASEL_BEFORE_BIN:-}" ]; then
      echo "bench: SERVERS has \"before\" but EASEL_BEFORE_BIN is not set" >&2
      exit 1
    fi
    ;;
esac
case " $SERVERS " in
  *" reference "*)
    if [ ! -d "$REF_DIR/node_modules/@y/websocket-server" ]; then
      (cd "$REF_DIR" && npm ci --no-audit --no-fund >&2)
    fi
    ;;
esac

if [ "$MODE" = quick ]; then
  SAT="--clients 200 --rates 1,4,16 --warmup-secs 1 --step-secs 2"
  BURST="--clients 600 --warmup-secs 2 --step-secs 4"
  MEM="--charts 60 --clients 600 --settle-secs 1"
  DUR="--rates 50,200,800 --warmup-secs 1 --step-secs 2"
  JOIN="--bytes 262144 --joiners 60"
  COLD=60
  FIXTURE_CHARTS=64  # durable: 64 rooms
else
  SAT="--clients 1000 --rates ${SAT_RATES:-0.5,1,2,4,6,8,12,16,20,24,28,32,36,40,44,48,56,64,80,96,112,128} --warmup-secs 2 --step-secs 5"
  BURST="--clients 3000 --warmup-secs 5 --step-secs 20"
  MEM="--charts 300 --clients 3000 --settle-secs 3"
  DUR="--rates 100,200,400,800,1200,1600,2400 --warmup-secs 2 --step-secs 5"
  JOIN="--bytes 1048576 --joiners 300"
  COLD=300
  FIXTURE_CHARTS=300
fi

SERVER_PID=""
URL=""
TOKEN=""
CHARTS_FILE=""
DATA=""

wait_line() { # file pattern -> first matching line (10 s)
  for _ in $(seq 1 200); do
    if grep -m1 -E "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "bench: server did not print /$2/ (see $1)" >&2
  return 1
}

start_server() { # name [keep-data]
  local name=$1 log=$OUT/$1-$RUN.log line addr
  case $name in
    easel | before)
      local bin=$EASEL_BIN
      [ "$name" = before ] && bin=$EASEL_BEFORE_BIN
      if [ -z "${2:-}" ]; then
        drop_data # the previous scenario's: a full run would leave GBs behind
        DATA=$(mktemp -d "$OUT/easel-data.XXXX")
      fi
      # shellcheck disable=SC2086
      "$bin" serve --listen 127.0.0.1:0 --data-dir "$DATA" --web-dir "$OUT/no-web" --no-demo \
        ${EASEL_ARGS:-} >"$log" 2>"$log.err" &
      SERVER_PID=$!
      line=$(wait_line "$log" 'Easel listening on http://')
      addr=${line##*http://}
      URL="ws://$addr/sync"
      if [ -n "${EASEL_TOKEN:-}" ]; then
        TOKEN=$EASEL_TOKEN
      elif [ -z "${2:-}" ]; then
        # Easel serves only the charts of sessions, to tokens of their
        # conference: create a conference with enough sessions through the
        # API (the same charts and token again after a keep-data restart).
        CHARTS_FILE=$OUT/charts-$RUN.txt
        TOKEN=$(python3 "$ROOT/scripts/bench-fixture.py" "http://$addr" "$FIXTURE_CHARTS" "$CHARTS_FILE")
      fi
      ;;
    baseline)
      "$BASELINE_BIN" --listen 127.0.0.1:0 >"$log" 2>&1 &
      SERVER_PID=$!
      line=$(wait_line "$log" 'Baseline listening on ws://')
      URL="${line##*listening on }/sync"
      TOKEN=""
      ;;
    reference)
      HOST=127.0.0.1 PORT=0 node "$REF_DIR/reference-server.mjs" >"$log" 2>&1 &
      SERVER_PID=$!
      line=$(wait_line "$log" '"listening"')
      URL="ws://127.0.0.1:$(echo "$line" | sed -E 's/.*"port":([0-9]+).*/\1/')/sync"
      TOKEN=""
      ;;
  esac
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
# Easel's data dir of the last scenario; KEEP_DATA=1 keeps them all.
drop_data() {
  if [ -n "${DATA:-}" ] && [ -z "${KEEP_DATA:-}" ]; then rm -rf "$DATA"; fi
  DATA=""
}
trap 'stop_server; drop_data' EXIT

loadgen() { # server scenario rep args...
  local server=$1 scenario=$2 rep=$3
  shift 3
  local extra=()
  if [ -n "$TOKEN" ]; then extra+=("--token=$TOKEN"); fi  # a token may start with "-"
  if { [ "$server" = easel ] || [ "$server" = before ]; } && [ -n "${EASEL_CHARTS_FILE:-$CHARTS_FILE}" ]; then
    extra+=(--charts-file "${EASEL_CHARTS_FILE:-$CHARTS_FILE}")
  fi
  echo "== $scenario / $server / rep $rep  (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  "$LOADGEN_BIN" --url "$URL" --server-pid "$SERVER_PID" --threads "${THREADS:-$GEN_THREADS}" \
    --seed "$rep" --json "$RESULTS" --label "$scenario/$server/$rep" "${extra[@]}" "$@" >&2
}

RUN=0
for rep in $(seq 1 "$REPS"); do
  for scenario in $SCENARIOS; do
    for server in $SERVERS; do
      RUN=$((RUN + 1))
      case $scenario in
        saturation)
          start_server "$server"
          # shellcheck disable=SC2086
          THREADS=$SAT_GEN_THREADS loadgen "$server" "$scenario" "$rep" traffic --room-size 10 --writers-per-room 10 \
            --awareness-hz 1 --stop-p99-ms 100 --retries 1 $SAT
          ;;
        burst)
          start_server "$server"
          # shellcheck disable=SC2086
          loadgen "$server" "$scenario" "$rep" traffic --room-size 10 --writers-per-room 3 \
            --rates 5 --awareness-hz 1 $BURST
          ;;
        memory)
          start_server "$server"
          # shellcheck disable=SC2086
          loadgen "$server" "$scenario" "$rep" memory $MEM
          ;;
        durable)
          start_server "$server"
          # shellcheck disable=SC2086
          loadgen "$server" "$scenario" "$rep" traffic --clients 128 --room-size 2 \
            --writers-per-room 1 --awareness-hz 0 --stop-p99-ms 100 --retries 1 $DUR
          ;;
        join)
          # The baseline has no document: a joiner's SyncStep1 would be
          # relayed to every peer and every peer's answer to everyone.
          [ "$server" = baseline ] && continue
          start_server "$server"
          # shellcheck disable=SC2086
          loadgen "$server" "$scenario" "$rep" --chart-prefix storm join $JOIN
          ;;
        coldload)
          # Only easel (either build) keeps charts across a restart.
          [ "$server" = easel ] || [ "$server" = before ] || continue
          start_server "$server"
          loadgen "$server" populate "$rep" --chart-prefix cold populate --charts "$COLD"
          stop_server
          t0=$(date +%s%N)
          start_server "$server" keep
          loadgen "$server" coldload "$rep" --chart-prefix cold load --charts "$COLD" --t0-unix-ns "$t0"
          ;;
      esac
      stop_server
    done
  done
done

python3 - "$RESULTS" <<'PY' | tee "$OUT/table.md"
import json, statistics, sys
from collections import defaultdict

runs = defaultdict(list)  # (scenario, server) -> [report]
for line in open(sys.argv[1]):
    r = json.loads(line)
    scenario, server, rep = r["label"].split("/")
    runs[(scenario, server)].append((int(rep), r["report"]))

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def p99_at(report, rate):
    # A step measured twice (it failed once, see --retries) counts with
    # the measurement that passed.
    at = [s for s in report["steps"] if s["rate_per_writer"] == rate]
    passed = [s for s in at if s["passed"]]
    return (passed or at or [{"latency": {"p99_ms": None}}])[-1]["latency"]["p99_ms"]

# Saturation p99 is compared at one load: per repetition, the highest rate
# every server passed.
common = {}
by_rep = defaultdict(dict)
for (sc, sv), rs in runs.items():
    if sc == "saturation":
        for rep, r in rs:
            by_rep[rep][sv] = max([s["rate_per_writer"] for s in r["steps"] if s["passed"]] or [0])
for rep, m in by_rep.items():
    common[rep] = min(m.values())

def last_step(r):
    return r["steps"][-1] if r["steps"] else None

metrics = [
    ("saturation", "peak delivered/s (p99<=100ms)", lambda rep, r: r["peak_delivered_per_s"]),
    ("saturation", "p99 ms at common rate", lambda rep, r: p99_at(r, common.get(rep))),
    ("saturation", "server CPU % at peak", lambda rep, r: max([s for s in r["steps"] if s["passed"]] or [{"server_cpu_pct": None}], key=lambda s: s.get("delivered_per_s", 0))["server_cpu_pct"]),
    ("saturation", "generator-limited steps", lambda rep, r: sum(1 for s in r["steps"] if s["gen_limited"])),
    ("saturation", "steps measured again (--retries)", lambda rep, r: sum(1 for s in r["steps"] if s.get("attempt", 1) > 1)),
    ("burst", "delivered/s", lambda rep, r: last_step(r)["delivered_per_s"]),
    ("burst", "p50 ms", lambda rep, r: last_step(r)["latency"]["p50_ms"]),
    ("burst", "p99 ms", lambda rep, r: last_step(r)["latency"]["p99_ms"]),
    ("burst", "p999 ms", lambda rep, r: last_step(r)["latency"]["p999_ms"]),
    ("burst", "drops (missing + disconnects)", lambda rep, r: last_step(r)["missing"] + r["conns"]["disconnects"] + r["conns"]["connect_failures"]),
    ("burst", "server CPU %", lambda rep, r: last_step(r)["server_cpu_pct"]),
    ("burst", "server RSS MB", lambda rep, r: last_step(r)["server_rss_mb"]),
    ("burst", "generator CPU %", lambda rep, r: last_step(r)["gen_cpu_pct"]),
    ("memory", "bytes per idle conn", lambda rep, r: r["bytes_per_idle_conn"]),
    ("memory", "RSS MB, all clients + charts", lambda rep, r: r["rss_total_mb"]),
    ("durable", "peak updates/s (64 charts, p99<=100ms)", lambda rep, r: r["peak_delivered_per_s"]),
    ("durable", "generator-limited steps", lambda rep, r: sum(1 for s in r["steps"] if s["gen_limited"])),
    ("durable", "steps measured again (--retries)", lambda rep, r: sum(1 for s in r["steps"] if s.get("attempt", 1) > 1)),
    ("join", "all synced ms", lambda rep, r: r["all_synced_ms"]),
    ("join", "p99 join ms", lambda rep, r: r["sync"]["p99_ms"] if r["synced"] else None),
    ("join", "server RSS MB when all synced", lambda rep, r: r["server_rss_mb"]),
    ("join", "server RSS MB 2 s later (joiners idle)", lambda rep, r: r.get("server_rss_after_mb")),
    ("coldload", "first load p99 ms", lambda rep, r: r["first_load"]["p99_ms"]),
    ("coldload", "serving after launch ms", lambda rep, r: r["serving_ms"]),
]

def fmt(x):
    if x is None:
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.2f}"

# A second easel build ("before", EASEL_BEFORE_BIN) gets its own column and
# an easel/before ratio only when it ran, so the usual table keeps its shape.
has_before = any(sv == "before" for _, sv in runs)
servers = ["easel"] + (["before"] if has_before else []) + ["baseline", "reference"]
ratios = (["before"] if has_before else []) + ["baseline", "reference"]
print("| scenario | metric | " + " | ".join(servers) + " | " + " | ".join(f"easel/{b}" for b in ratios) + " |")
print("|---|---|" + "---|" * (len(servers) + len(ratios)))
for sc, name, f in metrics:
    vals = {}
    for sv in servers:
        xs = []
        for rep, r in sorted(runs.get((sc, sv), [])):
            try:
                xs.append(f(rep, r))
            except Exception:
                xs.append(None)
        vals[sv] = med(xs)
    if all(v is None for v in vals.values()):
        continue
    def ratio(a, b):
        return f"{a / b:.2f}x" if a is not None and b else "n/a"
    reps = len(runs.get((sc, "easel"), []))
    print(f"| {sc} | {name} | " + " | ".join(fmt(vals[sv]) for sv in servers) + " | "
          + " | ".join(ratio(vals["easel"], vals[b]) for b in ratios) + " |")
print()
print(f"medians of {max((len(v) for v in runs.values()), default=0)} runs per cell; raw results: {sys.argv[1]}")
PY
