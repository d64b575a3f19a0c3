#!/usr/bin/env bash
# Regenerates the screen captures in docs/keyholder-runbook.md from the real
# `ceremony` binary. It stages a practice stick with `ceremony drill-stage`,
# drives the terminal UI in tmux at 80x24, captures the screen after each
# step into docs/screens/NN-name.txt, and replaces the text block after each
# `<!-- screen: NN-name -->` marker in the runbook with that capture.
#
# Usage, from the repository root:
#   cargo build -p ceremony -p tuf-repo
#   docs/capture-screens.sh            # captures and updates the runbook
#   docs/capture-screens.sh --no-splice  # captures only
#
# Needs tmux, softhsm2 and python3 (and the venv's python-tuf, which the
# headless drill's last step uses). Works in /tmp/docs-drill,
# /tmp/docs-drill-stopped and /tmp/docs-release (all removed first), on its
# own tmux server (`tmux -L docs`), which it kills at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
CEREMONY=$ROOT/target/debug/ceremony
TUF_REPO=$ROOT/target/debug/tuf-repo
OUT=$ROOT/docs/screens
RUNBOOK=$ROOT/docs/keyholder-runbook.md
DRILL=/tmp/docs-drill
STOPPED=/tmp/docs-drill-stopped
RELEASE=/tmp/docs-release
SPLICE=1
[ "${1:-}" = "--no-splice" ] && SPLICE=0

for bin in "$CEREMONY" "$TUF_REPO"; do
    [ -x "$bin" ] || { echo "error: $bin missing: run cargo build -p ceremony -p tuf-repo" >&2; exit 1; }
done

T="tmux -L docs"
$T kill-server 2>/dev/null || true
trap '$T kill-server 2>/dev/null || true' EXIT

rm -rf "$DRILL" "$STOPPED" "$RELEASE"
mkdir -p "$OUT"
rm -f "$OUT"/*.txt
"$CEREMONY" drill-stage --out "$DRILL" >/dev/null

pin() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([k["pin"] for k in d["keyholders"] if k["name"]==sys.argv[2]][0])' "$DRILL/drill.json" "$1"; }

screen() { $T capture-pane -p -t docs; }

# wait_for TEXT: polls the screen until TEXT shows (10 s at most).
wait_for() {
    for _ in $(seq 100); do
        if screen | grep -qF -- "$1"; then return 0; fi
        sleep 0.1
    done
    echo "error: timed out waiting for: $1" >&2
    screen >&2
    exit 1
}

# capture NAME: the screen as it is now, trailing blanks trimmed.
capture() {
    sleep 0.3
    screen | sed -e 's/[[:space:]]*$//' >"$OUT/$1.txt"
    echo "captured $1"
}

keys() { $T send-keys -t docs "$@"; }

# choose_token WHO: moves the highlight in the token list down to WHO's
# token (the list scrolls: entries below the fold show as "▼ N more below").
choose_token() {
    wait_for "Next keyholder"
    local before
    for _ in $(seq 10); do
        screen | grep -q "^> .*token \"$1\"" && break
        before=$(screen | grep '^> ' || true)
        keys Down
        for _ in $(seq 50); do
            [ "$(screen | grep '^> ' || true)" != "$before" ] && break
            sleep 0.1
        done
    done
    screen | grep -q "^> .*token \"$1\"" || { echo "error: token $1 not reached" >&2; screen >&2; exit 1; }
    sleep 0.2
}

# start_ui DIR [STICK]: the UI on DIR's drill tokens and STICK (DIR/stick).
start_ui() {
    $T new-session -d -s docs -x 80 -y 24 \
        "env SOFTHSM2_CONF=$1/softhsm2.conf $CEREMONY --drill --no-yubikey --stick ${2:-$1/stick}; echo '[exited' \$?']'; sleep 60"
}

# --- one whole drill ceremony -------------------------------------------
start_ui "$DRILL"
wait_for "This machine's clock says"
capture 01-clock
keys Enter
wait_for "Choose the stick"
capture 02-stick
keys Enter
wait_for "Review 1/1"
capture 03-review-top

# Scroll until the staged file's digest (from the manifest) is in view.
digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"][0]["canonical_sha256"])' "$DRILL/stick/tuf-ceremony/manifest.json")
first_group="${digest:0:4} ${digest:4:4} ${digest:8:4} ${digest:12:4}"
for _ in $(seq 30); do
    screen | grep -qF "$first_group" && break
    keys Down
    sleep 0.05
done
wait_for "$first_group"
# A few more lines so the whole digest and the board are in view.
keys Down Down Down
capture 04-review-digest

keys Home v
wait_for "canonical bytes signed"
capture 05-review-raw
keys v
sleep 0.2
keys Enter
wait_for "Next keyholder"
capture 06-tokens

choose_token alice
keys Enter
wait_for "Type your PIN"
capture 07-pin-empty
$T send-keys -t docs -l "$(pin alice)"
capture 08-pin-typed
keys Enter
wait_for "signed 1 file(s)"
capture 09-after-first-signature

choose_token bob
keys Enter
wait_for "Type your PIN"
$T send-keys -t docs -l "9999"
keys Enter
wait_for "error:"
capture 10-wrong-pin
$T send-keys -t docs -l "$(pin bob)"
keys Enter
for _ in $(seq 100); do
    [ "$(screen | grep -c 'threshold MET')" -ge 2 ] && break
    sleep 0.1
done
capture 11-threshold-met

keys t
wait_for "Transcript"
capture 12-transcript-during
keys Escape
sleep 0.2

keys f
wait_for "type your name"
$T send-keys -t docs -l "Wanda Witness"
capture 13-witness-signoff
keys Enter
wait_for "Ceremony complete"
capture 14-complete
keys t
wait_for " Transcript "
# Scrolled to the end: the sign-off entries and the head.
keys PageDown PageDown
sleep 0.2
capture 15-transcript-after
keys Escape
sleep 0.2
keys q
wait_for "[exited"
$T kill-session -t docs

# The transcript the witness checks afterwards.
"$TUF_REPO" transcript verify "$DRILL/stick/tuf-ceremony/transcript.jsonl" \
    --metadata "$DRILL/stick/tuf-ceremony/staged/root.json" \
    | sed -e 's/[[:space:]]*$//' >"$OUT/16-transcript-verify.txt"
echo "captured 16-transcript-verify"

# --- a stick changed after staging: the red STOPPED screen ---------------
"$CEREMONY" drill-stage --out "$STOPPED" >/dev/null
python3 - "$STOPPED/stick/tuf-ceremony/staged/root.json" <<'EOF'
import json, sys
path = sys.argv[1]
doc = json.load(open(path))
# Someone moves the expiry after the releaser staged the file.
doc["signed"]["expires"] = doc["signed"]["expires"][:2] + "99" + doc["signed"]["expires"][4:]
json.dump(doc, open(path, "w"), indent=1)
EOF
start_ui "$STOPPED"
wait_for "This machine's clock says"
keys Enter
wait_for "Choose the stick"
keys Enter
wait_for "CANNOT GO ON"
capture 17-stopped
keys q
wait_for "[exited"
$T kill-server

# --- a targets release with a new delegation: the review as a diff ------
# The headless drill makes a published repository (root v2, targets v1);
# the releaser then adds a target and delegates project-x/* to alice's key,
# and stages both onto a stick with the published targets v1 beside them.
PATH="$ROOT/target/debug:$PATH" TUF_CEREMONY_PYTHON="${TUF_CEREMONY_PYTHON:-$ROOT/.venv/bin/python}" \
    "$ROOT/ceremony-scripts/drill" "$RELEASE" >/dev/null
printf 'release 2\n' >"$RELEASE/app.tar.gz"
"$TUF_REPO" add-target "$RELEASE/repo" "$RELEASE/app.tar.gz" --name app.tar.gz >/dev/null
"$TUF_REPO" delegate "$RELEASE/repo" --name project-x --key "$RELEASE/alice.pub.json" \
    --threshold 1 --paths 'project-x/*' >/dev/null
"$TUF_REPO" stage "$RELEASE/repo" --stick "$RELEASE/release-stick" >/dev/null
start_ui "$RELEASE" "$RELEASE/release-stick"
wait_for "This machine's clock says"
keys Enter
wait_for "Choose the stick"
keys Enter
wait_for "Review 1/2"
capture 18-targets-review
for _ in $(seq 30); do
    screen | grep -qF "+ role project-x" && break
    keys Down
    sleep 0.05
done
wait_for "+ role project-x"
keys Down Down Down
capture 19-delegation-review
keys q
wait_for "Quit before the witness signs off?"
keys y
wait_for "[exited"
$T kill-server

# Put each capture into the runbook, after its marker.
if [ "$SPLICE" = 1 ]; then
    python3 - "$RUNBOOK" "$OUT" <<'EOF'
import pathlib, sys
runbook, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
lines = runbook.read_text().split("\n")
result, i, count = [], 0, 0
while i < len(lines):
    line = lines[i]
    result.append(line)
    i += 1
    if line.startswith("<!-- screen: ") and line.endswith(" -->"):
        name = line[len("<!-- screen: "):-len(" -->")]
        if i >= len(lines) or lines[i] != "```text":
            sys.exit(f"error: no ```text block after {line}")
        end = lines.index("```", i + 1)
        capture = (out / f"{name}.txt").read_text().rstrip("\n")
        result += ["```text"] + capture.split("\n") + ["```"]
        i = end + 1
        count += 1
runbook.write_text("\n".join(result))
print(f"updated {count} capture(s) in {runbook}")
EOF
fi
