#!/usr/bin/env bash
# Benchmark for `migrate trust --permissions inferred` against `--permissions placeholder` (the
# compiler skipped) on the 60 real workflows of testdata/corpus, with a release build: each
# variant runs RUNS times (default 50) back to back, alternating, and the total wall time of
# each is printed. Not part of CI (it needs a release build).
#
#   benches/trust-permissions.sh [RUNS] [BASELINE_BINARY]
#
# BASELINE_BINARY (e.g. a build of the commit before the compiler) adds a third row.
# MIGRATE_BIN=path uses that binary instead of building a release one.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-50}"
baseline="${2:-}"
if [ -n "${MIGRATE_BIN:-}" ]; then
  bin="$MIGRATE_BIN"
else
  cargo build --release --quiet
  bin="${CARGO_TARGET_DIR:-target}/release/migrate"
fi
args=(trust --account-id 123456789012 --slug octo-org/octo-repo --default-branch main --format json testdata/corpus)
total() {
  local start end
  start=$(date +%s%N)
  for _ in $(seq 1 "$runs"); do "$@" > /dev/null 2>&1; done
  end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}
echo "testdata/corpus: $(ls testdata/corpus | wc -l) files, $runs runs each, $(nproc) cores"
placeholder=0; inferred=0; base=0
for round in 1 2 3; do
  p=$(total "$bin" "${args[@]}" --permissions placeholder)
  i=$(total "$bin" "${args[@]}" --permissions inferred)
  placeholder=$((placeholder + p)); inferred=$((inferred + i))
  if [ -n "$baseline" ]; then
    b=$(total "$baseline" "${args[@]}")
    base=$((base + b))
  fi
done
per_run() { awk -v t="$1" -v n="$((runs * 3))" 'BEGIN { printf "%.2f ms", t / n }'; }
echo "trust --permissions placeholder: $(per_run $placeholder) per run"
echo "trust --permissions inferred:    $(per_run $inferred) per run"
awk -v a="$placeholder" -v b="$inferred" 'BEGIN { printf "compiler overhead: %+.1f%%\n", (b - a) * 100 / a }'
if [ -n "$baseline" ]; then
  echo "baseline $baseline: $(per_run $base) per run"
  awk -v a="$base" -v b="$inferred" 'BEGIN { printf "inferred vs baseline: %+.1f%%\n", (b - a) * 100 / a }'
fi
