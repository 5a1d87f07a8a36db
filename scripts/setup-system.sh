#!/usr/bin/env bash
# Installs the Debian packages memwarden's features and tests use. Needs root (or sudo).
#   python3-psutil  reference numbers the tests compare against
#   lldb            running code inside a live Python or native process (gdb's inferior calls fail here)
#   sqlite3         inspecting history files in tests
#   tmux            driving `memwarden top` in tests
#   prometheus      a real scraper for /metrics (and promtool)
#   chromium        the dashboard and report in a real browser
#   systemd         systemd-analyze, which verifies the unit in deploy/
#   redis-server    a real jemalloc process for the trim tests (Debian's links libjemalloc)
set -euo pipefail
PACKAGES=(python3-psutil lldb sqlite3 tmux prometheus chromium systemd redis-server)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=''
[ "$(id -u)" -ne 0 ] && SUDO='sudo'
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
