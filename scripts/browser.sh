#!/usr/bin/env bash
# Installs (from Debian, when absent) the Chromium that the browser tests drive with Playwright
# (`chromium.launch(executable_path=...)`; Playwright's own browser download cannot work here:
# never run `playwright install`). Prints `export UNIHUB_CHROMIUM=...` for the caller to eval.
#   scripts/browser.sh          -> install when missing, print the export line
#   scripts/browser.sh path     -> print the path only (exit 1 when there is none)
set -euo pipefail

log() { echo "browser: $*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

find_chromium() {
  local c
  for c in "${UNIHUB_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}

ensure_chromium() {
  find_chromium >/dev/null && return 0
  log "installing chromium from Debian"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >&2
}

case "${1:-install}" in
  install)
    ensure_chromium || log "could not install chromium; browser tests will be skipped"
    if c=$(find_chromium); then echo "export UNIHUB_CHROMIUM=$c"; fi
    ;;
  path) find_chromium ;;
  *) echo "usage: $0 [install|path]" >&2; exit 2 ;;
esac
