#!/usr/bin/env bash
# Seeds one fuzz target's corpus from real metadata shapes:
#   fuzz/seed-corpus.sh TARGET CORPUS_DIR
# python-tuf's fixture generators (tests/fixtures/*.py, through $PYTHON,
# default .venv/bin/python) make sigstore-shaped repositories, roots of
# every key type, rotation chains, the attack corpus and hash bins; our own
# `ceremony drill-stage` ($CEREMONY, default target/debug/ceremony) makes a
# staged bundle. Each file becomes an input in the target's format
# (fuzz/src/lib.rs: `@@ <section>` headers). The seeds made by our own
# writers (the built-in repository, a transcript) are written by the
# targets themselves (TUF_FUZZ_SEEDS, see `cargo xtask fuzz`).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: seed-corpus.sh TARGET CORPUS_DIR}
corpus=${2:?usage: seed-corpus.sh TARGET CORPUS_DIR}
python=${PYTHON:-$here/.venv/bin/python}
ceremony=${CEREMONY:-$here/target/debug/ceremony}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$corpus"

# seed NAME: stdin becomes the corpus file NAME.
seed() { cat >"$corpus/$1"; }
# section HEADER FILE: one `@@ HEADER` section holding FILE.
section() { printf '@@ %s\n' "$1"; cat "$2"; printf '\n'; }
# sections_of DIR PREFIX: a `file` section per regular file under DIR.
sections_of() {
  (cd "$1" && find . -type f | sort) | while read -r f; do
    section "file $2${f#./}" "$1/$f"
  done
}
fixture() { "$python" "$here/tests/fixtures/$1.py" "${@:2}" >/dev/null; }

case "$target" in
parse_verify)
  fixture make_valid_roots "$work/roots"
  fixture make_attacks "$work/attacks"
  fixture make_hashbins "$work/bins" --keytype ecdsa --bins 16 --targets-per-bin 2 --check full
  for f in "$work"/roots/*/1.root.json "$work"/bins/root.json "$work"/bins/targets.json "$work"/bins/bins/bin-0*.json; do
    seed "file-$(basename "$(dirname "$f")")-$(basename "$f")" <"$f"
  done
  for v in 1 2 3 4; do
    { cat "$work/roots/chain/$v.root.json"; printf '\xff\xfe'; cat "$work/roots/chain/$((v + 1)).root.json"; } | seed "chain-$v"
  done
  for d in "$work"/attacks/*/; do
    [ -f "$d/candidate.json" ] || continue
    { cat "$d/trusted.root.json"; printf '\xff\xfe'; cat "$d/candidate.json"; } | seed "attack-$(basename "$d")"
  done
  ;;
client_update)
  fixture make_sigstore_shaped "$work/s"
  r=$work/s/repository
  {
    section trusted "$r/1.root.json"
    for v in 2 3 4 5 6; do [ -f "$r/$v.root.json" ] && section root "$r/$v.root.json"; done
    section timestamp "$r/timestamp.json"
    section snapshot "$(ls "$r"/*.snapshot.json | head -1)"
    section targets "$(ls "$r"/*.targets.json | head -1)"
    section "role registry.npmjs.org" "$(ls "$r"/*.registry.npmjs.org.json | head -1)"
    section file "$(ls "$r"/targets/*.trusted_root.json | head -1)"
    printf '@@ find trusted_root.json\n'
  } | seed sigstore-shaped
  u=$work/s/unusual-names/repository
  {
    section trusted "$u/1.root.json"
    section timestamp "$u/timestamp.json"
    section snapshot "$(ls "$u"/*.snapshot.json | head -1)"
    section targets "$(ls "$u"/*.targets.json | head -1)"
    for name in /delegatedrole ../delegatedrole % "a b" ünï; do
      enc=$("$python" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$name")
      section "role $name" "$u/1.$enc.json"
    done
    printf '@@ find t1\n'
  } | seed unusual-names
  ;;
bundle_reader)
  "$ceremony" drill-stage --out "$work/drill" >/dev/null
  sections_of "$work/drill/stick" "" | seed drill-stage
  fixture make_sigstore_shaped "$work/s"
  sections_of "$work/s/metadata" "metadata/" | seed tuf-on-ci-sigstore
  ;;
transcript_reader)
  # No binary of ours writes a transcript without the terminal UI; the
  # target writes one with our transcript writer (TUF_FUZZ_SEEDS).
  ;;
*)
  echo "error: no seeds for fuzz target $target" >&2
  exit 2
  ;;
esac
echo "seeded $target: $(find "$corpus" -type f | wc -l) inputs in $corpus"
