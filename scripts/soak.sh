#!/usr/bin/env bash
# The soak (scripts/soak.ts) at full size, at low priority: 10,000 opens and 100,000 chunk reads against a
# local S3/HTTP server, then a 100 s idle wait for pooled connections to close. Writes
# benchmark/soak-results/{rss.csv,summary.md} and exits non-zero if the verdict fails. Needs the addon
# built (`npm run build`). Extra arguments go to soak.ts, e.g. `--opens 1000 --idle-wait 0` for a quick run.
set -euo pipefail
cd "$(dirname "$0")/.."
exec nice -n 10 node --import=tsx --expose-gc scripts/soak.ts "$@"
