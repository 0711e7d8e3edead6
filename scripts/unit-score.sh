#!/usr/bin/env bash
# Scores examples/blackbox.service the way systemd's own tooling judges a unit's exposure
# (`systemd-analyze security`, offline: no systemd needs to run here). Prints the overall line.
#
#   scripts/unit-score.sh        # e.g. "Overall exposure level for blackbox.service: 1.2 OK"
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v systemd-analyze >/dev/null; then
    echo "unit-score.sh: systemd-analyze is not installed (Debian: apt-get install systemd)" >&2
    exit 1
fi
systemd-analyze security --offline=true examples/blackbox.service 2>/dev/null | grep "Overall exposure"
