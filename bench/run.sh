#!/usr/bin/env bash
# Reproducible benchmarks of the connector (see BENCHMARKS.md):
#   1. e2ebench N times at ROWS rows (connector and baseline, each in its own
#      child process), then once at BIG_ROWS rows (is peak RSS flat?);
#   2. one profiled connector run at ROWS rows: CPU and allocation profiles
#      and their `go tool pprof -top` views;
#   3. the per-row conversion benchmarks (schemas) and the reading stages
#      (bench BenchmarkReader), COUNT times each;
#   4. benchstat over all of it, and against the previous run in bench/out.
# Everything lands in bench/out/<UTC timestamp>/ (gitignored).
#
# Knobs (environment): N=5 ROWS=1000000 BIG_ROWS=5000000 COUNT=6 EVENT=Message-Sent
# Run it on an otherwise idle machine: the figures are wall-clock figures.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-5}
ROWS=${ROWS:-1000000}
BIG_ROWS=${BIG_ROWS:-5000000}
COUNT=${COUNT:-6}
EVENT=${EVENT:-Message-Sent}

step() { printf '\n==> %s\n' "$*" >&2; }

mkdir -p bench/out
prev=$(ls -1d bench/out/*/ 2>/dev/null | sort | tail -n 1 || true)
out=bench/out/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"

step "machine -> $out/machine.txt"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -sr)"
  echo "go: $(go version)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . ':!bench' ':!BENCHMARKS.md' 2>/dev/null || echo ' (working tree modified)')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/machine.txt" >&2

step "benchstat"
benchstat=$(go env GOPATH)/bin/benchstat
if [[ ! -x $benchstat ]]; then
  GOFLAGS= go install golang.org/x/perf/cmd/benchstat@latest
fi
echo "$benchstat" >&2

step "building e2ebench"
go build -o "$out/e2ebench" ./bench/cmd/e2ebench

# bench lines: the benchmark-format lines of e2ebench outputs, for benchstat.
benchlines() { grep -h -E '^(goos|goarch|pkg|cpu):|^Benchmark' "$@"; }

step "e2e: $N runs at $ROWS rows of $EVENT"
for i in $(seq 1 "$N"); do
  "$out/e2ebench" -rows "$ROWS" -event "$EVENT" -json | tee "$out/e2e-$ROWS-$i.txt"
done
benchlines "$out"/e2e-"$ROWS"-*.txt > "$out/e2e.bench"

step "e2e: 1 run at $BIG_ROWS rows (peak RSS must stay flat)"
"$out/e2ebench" -rows "$BIG_ROWS" -event "$EVENT" -json | tee "$out/e2e-$BIG_ROWS.txt"
benchlines "$out/e2e-$BIG_ROWS.txt" > "$out/e2e-big.bench"

step "e2e: profiled connector run at $ROWS rows"
"$out/e2ebench" -rows "$ROWS" -event "$EVENT" -baseline=false \
  -cpuprofile "$out/connector.cpu.pprof" -memprofile "$out/connector.alloc.pprof" | tee "$out/e2e-profiled.txt"
go tool pprof -top -nodecount=15 "$out/connector.cpu.pprof" > "$out/connector.cpu.top.txt" 2>/dev/null
go tool pprof -top -cum -nodecount=40 "$out/connector.cpu.pprof" > "$out/connector.cpu.cum.txt" 2>/dev/null
go tool pprof -top -sample_index=alloc_space -nodecount=15 "$out/connector.alloc.pprof" > "$out/connector.alloc.top.txt" 2>/dev/null
cat "$out/connector.cpu.top.txt" "$out/connector.alloc.top.txt" >&2

step "per-row conversion: schemas BenchmarkAppend, count $COUNT"
go test -run='^$' -bench=. -benchmem -count="$COUNT" ./schemas/ | tee "$out/schemas.bench"

step "reading stages: bench BenchmarkReader, count $COUNT"
go test -run='^$' -bench=BenchmarkReader -benchmem -count="$COUNT" ./bench/ | tee "$out/reader.bench"

step "benchstat -> $out/benchstat.txt"
{
  echo "## e2e, $N runs at $ROWS rows"; "$benchstat" "$out/e2e.bench"; echo
  echo "## e2e, $BIG_ROWS rows"; "$benchstat" "$out/e2e-big.bench"; echo
  echo "## schemas"; "$benchstat" "$out/schemas.bench"; echo
  echo "## reading stages"; "$benchstat" "$out/reader.bench"; echo
  if [[ -n $prev && -f ${prev}e2e.bench ]]; then
    echo "## against the previous run (${prev%/})"
    "$benchstat" old="${prev}e2e.bench" new="$out/e2e.bench"; echo
    [[ -f ${prev}schemas.bench ]] && "$benchstat" old="${prev}schemas.bench" new="$out/schemas.bench"
  fi
} | tee "$out/benchstat.txt"

step "RSS flatness (connector peak RSS, MiB)"
rss() { grep -h "^BenchmarkE2E/connector/rows=$1 " "${@:2}" | sed -E 's/.* ([0-9.]+) peak-rss-MiB.*/\1/' | sort -n; }
small=$(rss "$ROWS" "$out"/e2e-"$ROWS"-*.txt | tail -n 1)
big=$(rss "$BIG_ROWS" "$out/e2e-$BIG_ROWS.txt" | tail -n 1)
echo "largest at $ROWS rows: $small; at $BIG_ROWS rows: $big" | tee "$out/rss.txt"

step "done: $out"
