"""The Python side of the signing benchmark in `cargo xtask bench`.

Signs the same documents as the Rust example `sign_bench`, on the same
SoftHSM2 token with the same P-256 key, the way tuf-on-ci-sign does:
securesystemslib's HSMSigner (python-pkcs11 underneath), made from the
`hsm:` URI and public key that `HSMSigner.import_` returns, then
`signer.sign(canonical_bytes)` once per document. Each `sign` finds the
token, opens a session, logs in, finds the key, signs and closes the session:
that is HSMSigner's design (the PIN comes from the secrets handler every
time), and it is what is timed here.

Only the signing loop is timed (not interpreter start-up, imports or the
import of the key); the figure is the best of `--runs`. Every signature is
then verified with securesystemslib (untimed): a benchmark whose signatures
do not verify must not print a figure.

Ed25519: HSMSigner signs ECDSA only (schemes ecdsa-sha2-nistp256/384). The
script asks it to import the Ed25519 key and to build a signer for it
anyway, and records what it says, so the table can show "not supported" in
the library's own words.

Reads: `--documents` (4-byte big-endian length, then the canonical bytes,
repeated), the PIN from `--pin-file` (first line). SOFTHSM2_CONF must be set;
PYKCS11LIB (HSMSigner's module path) is set here from `--module`.

Writes `--json`: {"p256": {"documents", "seconds", "per_s", "keyid"},
"ed25519": {"supported": false, "reason"}}.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import time
from pathlib import Path

import pkcs11.util
from securesystemslib.signer import HSMSigner, Signer, SSlibKey


def read_documents(path: Path) -> list[bytes]:
    data = path.read_bytes()
    documents = []
    at = 0
    while at < len(data):
        (length,) = struct.unpack_from(">I", data, at)
        at += 4
        documents.append(data[at : at + length])
        at += length
    if at != len(data):
        raise SystemExit(f"{path}: truncated document")
    return documents


def hsm_keyid(cka_id_hex: str) -> int:
    """HSMSigner names a key by an integer whose big-endian bytes are its CKA_ID."""
    keyid = int(cka_id_hex, 16)
    if pkcs11.util.biginteger(keyid) != bytes.fromhex(cka_id_hex):
        raise SystemExit(f"CKA_ID {cka_id_hex} cannot be named by HSMSigner (leading zero byte)")
    return keyid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", required=True, help="the PKCS#11 module (PYKCS11LIB)")
    parser.add_argument("--token-label", required=True)
    parser.add_argument("--pin-file", type=Path, required=True)
    parser.add_argument("--p256-cka-id", required=True, help="hex CKA_ID of the P-256 key")
    parser.add_argument("--p256-keyid", required=True, help="its TUF key id, as Rust computed it")
    parser.add_argument("--ed25519-cka-id", required=True, help="hex CKA_ID of the Ed25519 key")
    parser.add_argument("--ed25519-keyid", required=True, help="its TUF key id")
    parser.add_argument("--ed25519-public", required=True, help="its public key, hex")
    parser.add_argument("--documents", type=Path, required=True)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()

    if "SOFTHSM2_CONF" not in os.environ:
        raise SystemExit("SOFTHSM2_CONF is not set: it names the benchmark's token directory")
    os.environ["PYKCS11LIB"] = args.module
    pin = args.pin_file.read_text().splitlines()[0]

    def pin_handler(_secret: str) -> str:
        return pin

    documents = read_documents(args.documents)
    result = {}

    # What tuf-on-ci does when a signer adds a key, then when it signs.
    uri, public_key = HSMSigner.import_(
        hsm_keyid(args.p256_cka_id), args.token_label, pin_handler
    )
    if public_key.keyid != args.p256_keyid:
        raise SystemExit(
            f"securesystemslib computes key id {public_key.keyid} for the P-256 key, "
            f"Rust {args.p256_keyid}: the two sides would not be signing as the same key"
        )
    signer = Signer.from_priv_key_uri(uri, public_key, pin_handler)

    best = float("inf")
    signatures = []
    for _ in range(args.runs):
        start = time.perf_counter()
        signatures = [signer.sign(document) for document in documents]
        best = min(best, time.perf_counter() - start)
    for document, signature in zip(documents, signatures, strict=True):
        public_key.verify_signature(signature, document)
    result["p256"] = {
        "documents": len(documents),
        "seconds": best,
        "per_s": len(documents) / best,
        "keyid": public_key.keyid,
        "uri": uri,
    }
    print(f"securesystemslib HSMSigner: p256: {result['p256']}")

    # Ed25519: HSMSigner's import looks for EC keys only, and its
    # constructor refuses the scheme; both answers are recorded.
    reasons = []
    try:
        HSMSigner.import_(hsm_keyid(args.ed25519_cka_id), args.token_label, pin_handler)
        raise SystemExit("HSMSigner imported an Ed25519 key: time it too")
    except ValueError as e:
        reasons.append(f"HSMSigner.import_: {e}")
    ed_key = SSlibKey(args.ed25519_keyid, "ed25519", "ed25519", {"public": args.ed25519_public})
    try:
        HSMSigner(hsm_keyid(args.ed25519_cka_id), ed_key, pin_handler, args.token_label)
        raise SystemExit("HSMSigner accepted an Ed25519 key: time it too")
    except ValueError as e:
        reasons.append(f"HSMSigner(): {e}")
    result["ed25519"] = {"supported": False, "reason": "; ".join(reasons)}
    print(f"securesystemslib HSMSigner: ed25519: {result['ed25519']}")

    args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
