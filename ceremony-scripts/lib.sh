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
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH: build the tools (cargo build --release -p tuf-repo -p ceremony) and put target/release on PATH (run with --help)"; }

# Where the tools come from: said by every runbook's --help.
runbook_tools_note='The runbooks run tuf-repo and ceremony (and softhsm2-util for practice
tokens) from PATH and look nowhere else. From a checkout:
    cargo build --release -p tuf-repo -p ceremony
    export PATH="$PWD/target/release:$PATH"
(cargo xtask drill does this itself.) Set RUNBOOK_YES=1 to skip the pauses.'

# help_if_asked "$@": with --help or -h before any `--`, prints the usage
# at the top of the script (its first comment block) and where the tools
# come from, and exits 0.
help_if_asked() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      --) return 0 ;;
      --help | -h)
        sed -n '2,/^[^#]/p' "$0" | sed -n 's/^# \{0,1\}//p'
        printf '\n%s\n' "$runbook_tools_note"
        exit 0
        ;;
    esac
  done
}

# manifest_items STICK: one line per item of the stick's bundle manifest:
# `<role> <version> <canonical sha256>`.
manifest_items() {
  tr -d ' \n' <"$1/tuf-ceremony/manifest.json" |
    grep -o '"role":"[^"]*",\("delegator":"[^"]*",\)\{0,1\}\("published":"[^"]*",\)\{0,1\}"version":[0-9]*,"canonical_sha256":"[0-9a-f]\{64\}"' |
    sed 's/^"role":"\([^"]*\)".*"version":\([0-9]*\),"canonical_sha256":"\([0-9a-f]*\)"$/\1 \2 \3/'
}

# say_digests STICK: each staged file's canonical SHA-256, the way the
# appliance's review shows it (groups of four), to read aloud.
say_digests() {
  local role version digest
  while read -r role version digest; do
    say "$role v$version canonical sha256: $digest"
    say "    read aloud: $(printf '%s' "$digest" | sed 's/.\{4\}/& /g; s/ $//')"
  done < <(manifest_items "$1")
}

# check_transcripts REPO STICK...: checks each stick's ceremony transcript
# against every committed file it records signatures of (root, targets and
# any other role of the bundle), and says so when a stick has none.
check_transcripts() {
  local repo=$1 stick t found role version digest file
  local -a args
  shift
  for stick in "$@"; do
    found=""
    for t in "$stick/tuf-ceremony/transcript.jsonl" "$stick/ceremony-transcript.jsonl"; do
      [ -f "$t" ] || continue
      found=1
      step "check the ceremony transcript on $stick"
      args=()
      while read -r role version digest; do
        file="$repo/repository/$version.$role.json"
        if ! grep -q "\"event\":\"signed\".*\"canonical_sha256\":\"$digest\"" "$t"; then
          say "$role v$version: this transcript records no signature of it"
        elif [ -f "$file" ]; then
          args+=(--metadata "$file")
        else
          die "$t records signatures of $role v$version, but $file is not committed"
        fi
      done < <(manifest_items "$stick")
      run tuf-repo transcript verify "$t" "${args[@]}"
    done
    if [ -z "$found" ]; then
      say "WARNING: $stick holds no ceremony transcript (tuf-ceremony/transcript.jsonl): nothing to check for it. The appliance writes one at every ceremony; \`ceremony sign\` (headless, rehearsals) does not. At a real ceremony, find out where it went."
    fi
  done
}

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
