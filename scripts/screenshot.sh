#!/usr/bin/env bash
# Renders a report page with headless Chromium (Debian package `chromium`) to a PNG.
#
#   scripts/screenshot.sh PAGE.html OUT.png [WIDTH] [HEIGHT]
#
# WIDTH defaults to 1280 (the width the page is checked at), HEIGHT to 6000 (taller than the
# page: with ImageMagick's `convert` the empty space below it is trimmed). The page needs no
# network: it is one self-contained file.
set -euo pipefail
page=${1:?usage: scripts/screenshot.sh PAGE.html OUT.png [WIDTH] [HEIGHT]}
out=${2:?usage: scripts/screenshot.sh PAGE.html OUT.png [WIDTH] [HEIGHT]}
width=${3:-1280}
height=${4:-6000}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "screenshot.sh: no chromium found (apt-get install chromium)" >&2
    exit 1
fi
abs=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")
# --no-sandbox: containers often run as root, where Chromium's sandbox refuses to start.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size="$width,$height" --screenshot="$out" "file://$abs" >/dev/null 2>&1
if command -v convert >/dev/null && convert -version >/dev/null 2>&1; then
    convert "$out" -trim +repage -bordercolor white -border 16 "$out"
fi
echo "wrote $out"
