#!/usr/bin/env bash
# `make bench`: runs every *.bench.ts in the repo (each prints its figures as a ratio against a
# baseline measured in the same run) and collects the output in test/output/bench.txt.
# QX_BENCH_FILTER=regex runs only the matching files.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mkdir -p test/output
out=test/output/bench.txt
: >"$out"
status=0
mapfile -t benches < <(git ls-files -co --exclude-standard -- '*.bench.ts' | grep -E "${QX_BENCH_FILTER:-.}" | sort)
for b in "${benches[@]}"; do
  echo "=== $b" | tee -a "$out"
  if ! node --import tsx "$b" 2>&1 | tee -a "$out"; then
    echo "!!! $b failed" | tee -a "$out"
    status=1
  fi
done
echo "bench results: $out"
exit $status
