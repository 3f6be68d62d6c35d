#!/usr/bin/env bash
# Benchmark for `migrate scan` and `migrate rewrite`: the real-world corpus
# in testdata/corpus replicated N times (default 100: about 5,700 files, 14 MB), scanned with
# a release build. Prints wall time and peak memory. Not part of CI (it needs a release build).
#
#   benches/scan-corpus.sh [COPIES]
set -euo pipefail
cd "$(dirname "$0")/.."
copies="${1:-100}"
corpus="target/bench-corpus-$copies"
if [ ! -d "$corpus" ]; then
  for i in $(seq 1 "$copies"); do
    mkdir -p "$corpus/repo-$i/.github/workflows"
    cp testdata/corpus/*.yml testdata/corpus/*.yaml "$corpus/repo-$i/.github/workflows/"
  done
fi
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/migrate"
files=$(find "$corpus" -type f | wc -l)
bytes=$(du -sb "$corpus" | cut -f1)
echo "corpus: $files files, $((bytes / 1024 / 1024)) MB, $(nproc) cores"
run() {
  # Exit code 10 means "findings": expected here.
  /usr/bin/time -f "  wall %e s, peak RSS %M KB" "$@" > /dev/null || [ $? -eq 10 ]
}
for i in 1 2 3; do
  echo "migrate scan --format json $corpus (run $i)"
  run "$bin" scan --format json "$corpus"
done
for i in 1 2 3; do
  echo "migrate rewrite --role-arn ... $corpus, diffs only, no --write (run $i)"
  run "$bin" rewrite --role-arn arn:aws:iam::123456789012:role/bench "$corpus"
done
