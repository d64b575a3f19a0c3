"""The python-tuf side of `cargo xtask bench`.

Times, in python-tuf 7 / securesystemslib (the peer we compare with), the
same work the Rust example `bench_peer` times, on the same files, and writes
the figures in the same JSON shape:

    {"encode": {"bytes": N, "seconds": s},
     "hashbins": {"<keytype>": {"bins": n, "parse_verify_seconds": s,
                                "bare_verify_seconds": s}, ...}}

- encode: securesystemslib's `encode_canonical` (to UTF-8 bytes) of one JSON
  value: the list of the parsed `signed` objects of every bin file of the
  ed25519 tree, in file-name order, read and parsed before timing.
- parse_verify: for every bin, `Metadata.from_bytes` and then the delegating
  targets role's `verify_delegate(name, md.signed_bytes, md.signatures)`,
  all files read into memory first.
- bare_verify: only `key.verify_signature(sig, signed_bytes)` for every
  signature `verify_delegate` would check, with the signed bytes computed
  before timing: what the signature checks alone cost.

Each figure is the best of 3 runs. Any failed verification aborts the run:
a benchmark that verifies nothing must not print a figure.

Tree layout (made by tests/fixtures/make_hashbins.py): DATA/<keytype>/
targets.json (the delegating role, succinct hash bins; bench.json's
"delegating" names it), bins/<name>.json, bench.json {"keytype", "bins",
"delegating"}. The directory name (ed25519, ecdsa) keys the results.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from securesystemslib.formats import encode_canonical
from tuf.api.metadata import Metadata, Targets

RUNS = 3


def best_of(runs: int, work) -> float:
    """The shortest wall-clock time of `runs` calls of `work()`."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def bin_files(tree: Path) -> list[Path]:
    return sorted((tree / "bins").glob("*.json"))


def time_encode(tree: Path) -> dict:
    value = [json.loads(p.read_bytes())["signed"] for p in bin_files(tree)]
    out = encode_canonical(value).encode("utf-8")
    seconds = best_of(RUNS, lambda: encode_canonical(value).encode("utf-8"))
    return {"bytes": len(out), "seconds": seconds}


def time_hashbins(tree: Path) -> dict:
    info = json.loads((tree / "bench.json").read_text())
    delegating_file = tree / info.get("delegating", "targets.json")
    delegating = Metadata.from_bytes(delegating_file.read_bytes()).signed
    if not isinstance(delegating, Targets):
        raise SystemExit(f"{delegating_file} is not a targets role")
    files = [(p.stem, p.read_bytes()) for p in bin_files(tree)]
    if len(files) != info["bins"]:
        raise SystemExit(f"{tree}: bench.json says {info['bins']} bins, found {len(files)}")

    def parse_verify() -> None:
        for name, raw in files:
            md = Metadata.from_bytes(raw)
            delegating.verify_delegate(name, md.signed_bytes, md.signatures)

    # What verify_delegate checks, prepared outside the timed loop: for each
    # bin, its signed bytes and the (key, signature) pairs of its role's keys.
    checks = []
    for name, raw in files:
        md = Metadata.from_bytes(raw)
        role = delegating.get_delegated_role(name)
        pairs = [
            (delegating.get_key(keyid), md.signatures[keyid])
            for keyid in role.keyids
            if keyid in md.signatures
        ]
        if len(pairs) < role.threshold:
            raise SystemExit(f"{tree}: bin {name} lacks signatures by its role's keys")
        checks.append((md.signed_bytes, pairs))

    def bare_verify() -> None:
        for data, pairs in checks:
            for key, sig in pairs:
                key.verify_signature(sig, data)

    return {
        "bins": len(files),
        "parse_verify_seconds": best_of(RUNS, parse_verify),
        "bare_verify_seconds": best_of(RUNS, bare_verify),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="holds one tree per key type")
    parser.add_argument("--json", type=Path, required=True, help="where the figures go")
    args = parser.parse_args()

    trees = sorted(p.parent for p in args.data.glob("*/bench.json"))
    if not trees:
        raise SystemExit(f"no hash-bin trees (*/bench.json) under {args.data}")
    result = {"encode": time_encode(args.data / "ed25519"), "hashbins": {}}
    for tree in trees:
        # The directory name (ed25519, ecdsa) is the key both sides use.
        keytype = tree.name
        result["hashbins"][keytype] = time_hashbins(tree)
        print(f"python-tuf: {keytype}: {result['hashbins'][keytype]}")
    print(f"python-tuf: encode: {result['encode']}")
    args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
