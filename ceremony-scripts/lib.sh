# Shared by the runbooks: numbered steps, commands echoed before they run,
# pauses where a person acts (skipped with RUNBOOK_YES=1 for CI and
# rehearsals), and one `error:` line when a check fails.
# shellcheck shell=bash
set -euo pipefail

runbook_step=0
step() { runbook_step=$((runbook_step + 1)); printf '\n== step %d: %s\n' "$runbook_step" "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
say() { printf '   %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH (install tuf-ceremony's tools first)"; }

# pause "what the person does now": waits for Enter unless RUNBOOK_YES=1.
pause() {
  if [ "${RUNBOOK_YES:-}" = 1 ]; then
    say "(RUNBOOK_YES=1, not waiting) $*"
  else
    printf '   %s\n   press Enter when done, Ctrl-C to stop ' "$*"
    read -r _
  fi
}

# The root's expiry and days left, from `tuf-repo status` (one line per role).
root_status_line() { tuf-repo status "$1" 2>/dev/null | grep -E '^ *root ' | head -1 || true; }
