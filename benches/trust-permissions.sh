#!/usr/bin/env bash
# Benchmark for `migrate trust --permissions inferred` against `--permissions placeholder` (the
# compiler skipped) on the 60 real workflows of testdata/corpus, with a release build. The two
# variants run alternately, one invocation each, RUNS times (default 200); each invocation is
# timed on its own and the median and the minimum of each variant are printed (both resist the
# interference of other work on a shared host better than a total does). Not part of CI (it
# needs a release build).
#
#   benches/trust-permissions.sh [RUNS] [BASELINE_BINARY]
#
# BASELINE_BINARY (e.g. a build of the commit before the compiler) adds a third variant.
# MIGRATE_BIN=path uses that binary instead of building a release one.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-200}"
baseline="${2:-}"
if [ -n "${MIGRATE_BIN:-}" ]; then
  bin="$MIGRATE_BIN"
else
  cargo build --release --quiet
  bin="${CARGO_TARGET_DIR:-target}/release/migrate"
fi
args=(trust --account-id 123456789012 --slug octo-org/octo-repo --default-branch main --format json testdata/corpus)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Microseconds one invocation takes ($EPOCHREALTIME: no process started to read the clock).
once() {
  local start=$EPOCHREALTIME
  "$@" > /dev/null 2>&1
  local end=$EPOCHREALTIME
  echo $(( ${end/./} - ${start/./} ))
}
for _ in $(seq 1 "$runs"); do
  once "$bin" "${args[@]}" --permissions placeholder >> "$tmp/placeholder"
  once "$bin" "${args[@]}" --permissions inferred >> "$tmp/inferred"
  if [ -n "$baseline" ]; then once "$baseline" "${args[@]}" >> "$tmp/baseline"; fi
done
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%d %d", v[int((NR + 1) / 2)], v[1] }'; }
read -r p_median p_min <<< "$(stats "$tmp/placeholder")"
read -r i_median i_min <<< "$(stats "$tmp/inferred")"
ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", (b - a) * 100 / a }'; }
echo "testdata/corpus: $(ls testdata/corpus | wc -l) files, $runs runs each, alternating, $(nproc) cores"
echo "trust --permissions placeholder: median $(ms "$p_median"), min $(ms "$p_min")"
echo "trust --permissions inferred:    median $(ms "$i_median"), min $(ms "$i_min")"
echo "compiler overhead: median $(pct "$p_median" "$i_median"), min $(pct "$p_min" "$i_min")"
if [ -n "$baseline" ]; then
  read -r b_median b_min <<< "$(stats "$tmp/baseline")"
  echo "baseline $baseline: median $(ms "$b_median"), min $(ms "$b_min")"
  echo "inferred vs baseline: median $(pct "$b_median" "$i_median"), min $(pct "$b_min" "$i_min")"
fi
