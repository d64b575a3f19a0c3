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

# same_digest_on_every_stick STICK...: checks that every stick carries the
# same bundle (the same files with the same canonical SHA-256: one staging,
# every stick), says each file's digest, and prints the first (the root's),
# the one read aloud. Sticks that differ stop the runbook.
same_digest_on_every_stick() {
  local first="" listing stick
  for stick in "$@"; do
    [ -f "$stick/tuf-ceremony/manifest.json" ] || die "$stick: no ceremony bundle"
    listing=$(tr -d ' \n' <"$stick/tuf-ceremony/manifest.json" |
      grep -o '"canonical_sha256":"[0-9a-f]\{64\}"' | sed 's/.*:"\(.*\)"/\1/')
    [ -n "$listing" ] || die "$stick: the manifest lists no digest"
    if [ -z "$first" ]; then
      first=$listing
    elif [ "$listing" != "$first" ]; then
      die "$stick carries a different bundle from $1: stage once, then write the same bundle to every stick"
    fi
  done
  say "every stick ($#) carries the same bundle" >&2
  printf '%s\n' "$first" | head -1
}
