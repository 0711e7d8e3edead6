#!/usr/bin/env bash
# The postmortem page at every scale: builds the demo's four scenarios and the synthetic
# 1,000 snapshots x 10,000 executions recording, renders each page, takes screenshots at 1400
# and 420 px (and the demo's first screen) into docs/screenshots/ with the stamp of the page's
# structure they show (docs/screenshots/structure.txt, checked by a test; no other tracked file
# is written), and prints per page its bytes, its rendered height and
# Chromium's time for a --screenshot at 1400x1000 (median, min and max of 5 runs).
#
#   scripts/pages.sh [OUT_DIR]        (default: a temporary folder; screenshots go to docs/)
#
# Needs headless Chromium (Debian package `chromium`) and ImageMagick (`imagemagick`).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
mkdir -p "$work" docs/screenshots
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "pages.sh: no chromium found (apt-get install chromium)" >&2
    exit 1
fi
cargo build --release --quiet --bin blackbox --example synth
bb=target/release/blackbox

for s in classic cutoff outage legacy; do
    "$bb" demo --scenario "$s" --db "$work/$s.redb" --force >/dev/null 2>&1
done
[ -f "$work/big.redb" ] || target/release/examples/synth --executions 10000 --snapshots 1000 \
    --db "$work/big.redb" >/dev/null

shot() { # PAGE OUT WIDTH HEIGHT
    "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size="$3,$4" --screenshot="$2" "file://$1" >/dev/null 2>&1
}

printf '%-8s %10s %8s %10s %8s %8s\n' page bytes height_px render_ms min_ms max_ms
for s in classic cutoff outage legacy big; do
    page="$work/$s.html"
    "$bb" report --db "$work/$s.redb" --format html --out "$page" >/dev/null
    # Full pages: a window taller than any page, the empty space below trimmed.
    for w in 1400 420; do
        png="docs/screenshots/$s-$w.png"
        shot "$page" "$png" "$w" 12000
        # Trimmed, then 128 colours (a page has few): a tenth of the bytes in git.
        convert "$png" -trim +repage -bordercolor white -border 8 +dither -colors 128 "PNG8:$png"
    done
    height=$(($(identify -format '%h' "docs/screenshots/$s-1400.png") - 16))
    times=()
    for _ in 1 2 3 4 5; do
        t0=$(date +%s%N)
        shot "$page" "$work/timing.png" 1400 1000
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000000)))
    done
    sorted=($(printf '%s\n' "${times[@]}" | sort -n))
    printf '%-8s %10d %8d %10d %8d %8d\n' "$s" "$(stat -c %s "$page")" "$height" \
        "${sorted[2]}" "${sorted[0]}" "${sorted[4]}"
done
# The first screen of the demo at 1400x1000 (what is seen before scrolling), and the stamp of
# the page's structure these screenshots show (a test fails when the page changes and they
# were not remade).
shot "$work/classic.html" docs/screenshots/classic-first-screen.png 1400 1000
convert docs/screenshots/classic-first-screen.png +dither -colors 128 PNG8:docs/screenshots/classic-first-screen.png
BLACKBOX_UPDATE_SCREENSHOTS_STAMP=1 cargo test --quiet --locked --test integration \
    page_scale::screenshots_follow_the_page >/dev/null
echo "pages and recordings in $work; screenshots and structure.txt in docs/screenshots/"
