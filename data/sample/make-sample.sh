#!/usr/bin/env bash
# Rebuilds data/sample/*.csv.gz from the full files of the real data set (see README.md).
# Usage: data/sample/make-sample.sh /path/to/shared/data
# Deterministic: same input → byte-identical output (gzip -n drops the name and mtime).
set -euo pipefail
src="${1:?usage: make-sample.sh <folder with the *-USDT_1h.csv files>}"
here="$(cd "$(dirname "$0")" && pwd)"
from="2021-06-01T00:00:00Z"
to="2022-10-11T10:00:00Z"
for s in AAVE AVAX BCH BTC ETH LINK LTC; do
  awk -F, -v from="$from" -v to="$to" 'NR==1 || ($1>=from && $1<=to)' "$src/$s-USDT_1h.csv" \
    | gzip -9n >"$here/$s-USDT_1h.csv.gz"
done
