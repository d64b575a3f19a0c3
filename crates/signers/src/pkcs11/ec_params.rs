//! `CKA_EC_PARAMS` in every form tokens report, compared rather than guessed.
//!
//! PKCS#11 defines the attribute as the DER of X9.62's `Parameters`, a
//! CHOICE, and modules use every branch of it:
//!
//! - the named-curve OID (`06 08 2a 86 48 ce 3d 03 01 07` for P-256; RFC
//!   8410's 1.3.101.112 for Ed25519): what most modules return;
//! - a curve name, a PrintableString (PKCS#11 3.0 added it for Edwards
//!   curves: SoftHSM2 says `edwards25519`; for P-256 the names of the same
//!   curve in X9.62, SEC 2 and FIPS 186: `prime256v1`, `secp256r1`, `P-256`);
//! - explicit parameters, an `ECParameters` SEQUENCE (SEC 1 C.2, RFC 3279):
//!   Debian 12's ykcs11 (yubico-piv-tool 2.2.0) reports them for every key
//!   whose public half it builds from GET METADATA, i.e. a key it cannot
//!   attest (an imported key; its source says a certificate in the slot
//!   does not change that) (fixed upstream in yubico-piv-tool PR #399,
//!   2.3.1). They are accepted only
//!   when the prime, both coefficients, the generator (uncompressed or
//!   compressed, decoded and compared as a point), the order and the
//!   cofactor (when present) are P-256's; the seed, which only tells how
//!   the curve was found, is ignored.
//!
//! `implicitlyCA` (NULL, "the curve the CA uses") names no curve and is
//! refused, like every other curve.

use der::asn1::UintRef;
use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetStringRef, PrintableStringRef};
use der::{Decode, Encode, Sequence, Tag, Tagged};

use crate::KeyKind;

/// DER of the P-256 curve OID 1.2.840.10045.3.1.7.
pub const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER of the Ed25519 OID 1.3.101.112 (PKCS#11 3.0 form).
pub const ED25519_OID_PARAMS: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
/// DER PrintableString "edwards25519" (the curve-name form SoftHSM2 and
/// older modules use).
pub const ED25519_NAME_PARAMS: &[u8] = b"\x13\x0cedwards25519";

const P256_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// `id-prime-Field` (X9.62): the field of an explicit curve is GF(p).
const PRIME_FIELD: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.1.1");

/// Names of P-256 a module may give as `curveName`: X9.62, SEC 2, FIPS 186.
const P256_NAMES: &[&str] = &["prime256v1", "secp256r1", "P-256"];
/// Names of Ed25519's curve (PKCS#11 3.0).
const ED25519_NAMES: &[&str] = &["edwards25519"];

/// P-256's domain parameters (SEC 2 2.4.2, FIPS 186-4 D.1.2.3), hex of the
/// big-endian values without leading zeros.
mod p256_domain {
    /// The field prime p.
    pub const P: &str = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";
    /// Coefficient a (p − 3).
    pub const A: &str = "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc";
    /// Coefficient b.
    pub const B: &str = "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b";
    /// The generator G, uncompressed.
    pub const G: &str = "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";
    /// The order n of G.
    pub const N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
    /// The cofactor h.
    pub const H: &str = "01";
}

/// Which branch of `Parameters` the token used: said in messages, and
/// what the tests check was really exercised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamsForm {
    /// `namedCurve`: an OBJECT IDENTIFIER.
    Oid,
    /// `curveName`: a PrintableString.
    CurveName,
    /// `ecParameters`: the curve spelt out, compared with P-256's.
    Explicit,
}

/// Why a `CKA_EC_PARAMS` value is not a curve we sign with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EcParamsError {
    /// Not DER of any branch of `Parameters` (empty, truncated, trailing
    /// bytes, a wrong tag).
    #[error("CKA_EC_PARAMS is not DER of X9.62 Parameters ({0})")]
    Malformed(String),
    /// `implicitlyCA`: NULL, the token does not say which curve.
    #[error("CKA_EC_PARAMS is implicitlyCA (NULL): the token does not say which curve")]
    ImplicitlyCa,
    /// A named curve other than P-256 or Ed25519.
    #[error("CKA_EC_PARAMS names curve {0}, not P-256 or Ed25519")]
    OtherOid(String),
    /// A curve name other than P-256's or Ed25519's.
    #[error("CKA_EC_PARAMS names curve {0:?}, not P-256 or Ed25519")]
    OtherName(String),
    /// Explicit parameters of a curve that is not P-256: which part differs.
    #[error("CKA_EC_PARAMS spells out a curve that is not P-256: its {0} differs from P-256's")]
    OtherExplicit(&'static str),
}

/// `ECParameters` (SEC 1 C.2, RFC 3279 2.3.5).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EcParameters<'a> {
    /// ecpVer1 (1); SEC 1 v2 also has 2 and 3, which only say how the seed
    /// was used.
    version: u8,
    field_id: FieldId<'a>,
    curve: Curve<'a>,
    /// `ECPoint`: the generator as a SEC 1 octet string.
    base: &'a OctetStringRef,
    order: UintRef<'a>,
    cofactor: Option<UintRef<'a>>,
}

/// `FieldID`: the field type and its parameters (for GF(p), the prime).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct FieldId<'a> {
    field_type: ObjectIdentifier,
    parameters: AnyRef<'a>,
}

/// `Curve`: coefficients a and b as field-element octet strings, and the
/// seed the curve was derived from.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct Curve<'a> {
    a: &'a OctetStringRef,
    b: &'a OctetStringRef,
    seed: Option<BitStringRef<'a>>,
}

/// The key algorithm `params` (a `CKA_EC_PARAMS` value) stands for, and
/// the form the token used; an error says why it is not one we sign with.
pub fn curve_of(params: &[u8]) -> Result<(KeyKind, ParamsForm), EcParamsError> {
    let malformed = |e: der::Error| EcParamsError::Malformed(e.to_string());
    match params.first() {
        None => Err(EcParamsError::Malformed("it is empty".into())),
        Some(0x06) => {
            let oid = ObjectIdentifier::from_der(params).map_err(malformed)?;
            match oid {
                P256_OID => Ok((KeyKind::EcdsaP256, ParamsForm::Oid)),
                ED25519_OID => Ok((KeyKind::Ed25519, ParamsForm::Oid)),
                other => Err(EcParamsError::OtherOid(other.to_string())),
            }
        }
        Some(0x13) => {
            let name = PrintableStringRef::from_der(params).map_err(malformed)?;
            let name = name.as_str();
            if P256_NAMES.contains(&name) {
                Ok((KeyKind::EcdsaP256, ParamsForm::CurveName))
            } else if ED25519_NAMES.contains(&name) {
                Ok((KeyKind::Ed25519, ParamsForm::CurveName))
            } else {
                Err(EcParamsError::OtherName(name.to_owned()))
            }
        }
        Some(0x05) => {
            der::asn1::Null::from_der(params).map_err(malformed)?;
            Err(EcParamsError::ImplicitlyCa)
        }
        Some(0x30) => {
            let explicit = EcParameters::from_der(params).map_err(malformed)?;
            check_p256(&explicit)?;
            Ok((KeyKind::EcdsaP256, ParamsForm::Explicit))
        }
        Some(tag) => Err(EcParamsError::Malformed(format!(
            "it starts with tag {tag:#04x}, not an OID, a PrintableString or a SEQUENCE"
        ))),
    }
}

/// Compares explicit parameters with P-256's, part by part.
fn check_p256(params: &EcParameters<'_>) -> Result<(), EcParamsError> {
    use p256_domain::{A, B, G, H, N, P};
    let differs = EcParamsError::OtherExplicit;
    if !(1..=3).contains(&params.version) {
        return Err(EcParamsError::Malformed(format!(
            "ECParameters version {} (SEC 1 knows 1 to 3)",
            params.version
        )));
    }
    if params.field_id.field_type != PRIME_FIELD {
        return Err(differs("field (not a prime field)"));
    }
    let field = &params.field_id.parameters;
    if field.tag() != Tag::Integer {
        return Err(EcParamsError::Malformed(
            "the prime field's parameter is not an INTEGER".into(),
        ));
    }
    let p: UintRef<'_> = field
        .decode_as()
        .map_err(|e: der::Error| EcParamsError::Malformed(e.to_string()))?;
    if !same_value(p.as_bytes(), P) {
        return Err(differs("field prime p"));
    }
    if !same_value(params.curve.a.as_bytes(), A) {
        return Err(differs("coefficient a"));
    }
    if !same_value(params.curve.b.as_bytes(), B) {
        return Err(differs("coefficient b"));
    }
    // The point decoded (compressed or uncompressed, checked on the curve
    // by p256), then compared as a point.
    let generator = hex::decode(G).expect("a hex constant");
    let expected = p256::PublicKey::from_sec1_bytes(&generator).expect("G is on P-256");
    match p256::PublicKey::from_sec1_bytes(params.base.as_bytes()) {
        Ok(base) if base == expected => {}
        _ => return Err(differs("generator")),
    }
    if !same_value(params.order.as_bytes(), N) {
        return Err(differs("order n"));
    }
    if let Some(h) = &params.cofactor
        && !same_value(h.as_bytes(), H)
    {
        return Err(differs("cofactor h"));
    }
    Ok(())
}

/// Whether big-endian `bytes` (leading zeros allowed) hold the value whose
/// hex, without leading zeros, is `hex_value`.
fn same_value(bytes: &[u8], hex_value: &str) -> bool {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    hex::encode(&bytes[first..]) == hex_value.trim_start_matches("00")
}

/// How the generator is written in spelt-out parameters (SEC 1 2.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeneratorForm {
    /// `04 x y`: what OpenSSL, and so ykcs11 2.2, writes.
    Uncompressed,
    /// `02`/`03` (the parity of y), then x.
    Compressed,
}

/// P-256's parameters spelt out, as `CKA_EC_PARAMS` DER; with the seed,
/// the uncompressed generator and the cofactor it is byte for byte what
/// OpenSSL writes (250 bytes, `30 81 f7 02 01 01 …`), which is what Debian
/// 12's ykcs11 reports. For tests and drills that need a token to report
/// this form: SoftHSM2 keeps the parameters a generation template gives.
pub fn p256_explicit(generator: GeneratorForm, seed: bool, cofactor: bool) -> Vec<u8> {
    use p256_domain::{A, B, G, H, N, P};
    let g = hex::decode(G).expect("a hex constant");
    let g = match generator {
        GeneratorForm::Uncompressed => g,
        GeneratorForm::Compressed => {
            let mut out = vec![0x02 | (g[64] & 1)];
            out.extend(&g[1..33]);
            out
        }
    };
    let value = |hex_value: &str| hex::decode(hex_value).expect("a hex constant");
    let seed_bytes = hex::decode(P256_SEED).expect("a hex constant");
    explicit_der(&Explicit {
        p: &value(P),
        a: &value(A),
        b: &value(B),
        g: &g,
        n: &value(N),
        h: cofactor.then(|| value(H)).as_deref(),
        seed: seed.then_some(&seed_bytes[..]),
    })
}

/// P-256's seed (SEC 2 2.4.2): how the curve was found; never compared.
const P256_SEED: &str = "c49d360886e704936a6678e1139d26b7819f7e90";

/// The parts of a prime curve, big-endian, for [`explicit_der`].
struct Explicit<'a> {
    p: &'a [u8],
    a: &'a [u8],
    b: &'a [u8],
    g: &'a [u8],
    n: &'a [u8],
    h: Option<&'a [u8]>,
    seed: Option<&'a [u8]>,
}

/// `ECParameters` DER of a prime curve, written by the same derived types
/// [`curve_of`] reads.
fn explicit_der(curve: &Explicit<'_>) -> Vec<u8> {
    let encoding = "parts of a curve encode as DER";
    let p = UintRef::new(curve.p)
        .expect(encoding)
        .to_der()
        .expect(encoding);
    EcParameters {
        version: 1,
        field_id: FieldId {
            field_type: PRIME_FIELD,
            parameters: AnyRef::from_der(&p).expect(encoding),
        },
        curve: Curve {
            a: OctetStringRef::new(curve.a).expect(encoding),
            b: OctetStringRef::new(curve.b).expect(encoding),
            seed: curve
                .seed
                .map(|seed| BitStringRef::from_bytes(seed).expect(encoding)),
        },
        base: OctetStringRef::new(curve.g).expect(encoding),
        order: UintRef::new(curve.n).expect(encoding),
        cofactor: curve.h.map(|h| UintRef::new(h).expect(encoding)),
    }
    .to_der()
    .expect(encoding)
}

#[cfg(test)]
mod tests {
    use der::Encode;
    use der::asn1::{Null, PrintableStringRef};

    use super::*;

    /// secp256k1's domain parameters (SEC 2 2.4.1): another 256-bit prime
    /// curve, the one most likely to be confused with P-256.
    mod k1 {
        pub const P: &str = "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f";
        pub const A: &str = "0000000000000000000000000000000000000000000000000000000000000000";
        pub const B: &str = "0000000000000000000000000000000000000000000000000000000000000007";
        pub const G: &str = "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8";
        pub const N: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    }

    /// A curve spelt out part by part, as a test wants it: P-256's, or
    /// secp256k1's, or either with one part changed.
    struct Spelt {
        p: String,
        a: String,
        b: String,
        g: Vec<u8>,
        n: String,
        h: Option<String>,
        seed: bool,
    }

    impl Spelt {
        fn p256() -> Spelt {
            use p256_domain::*;
            Spelt {
                p: P.into(),
                a: A.into(),
                b: B.into(),
                g: hex::decode(G).unwrap(),
                n: N.into(),
                h: Some(H.into()),
                seed: true,
            }
        }

        fn secp256k1() -> Spelt {
            Spelt {
                p: k1::P.into(),
                a: k1::A.into(),
                b: k1::B.into(),
                g: hex::decode(k1::G).unwrap(),
                n: k1::N.into(),
                h: Some("01".into()),
                seed: false,
            }
        }

        fn der(&self) -> Vec<u8> {
            let (p, a, b, n) = (
                hex::decode(&self.p).unwrap(),
                hex::decode(&self.a).unwrap(),
                hex::decode(&self.b).unwrap(),
                hex::decode(&self.n).unwrap(),
            );
            let h = self.h.as_ref().map(|h| hex::decode(h).unwrap());
            let seed = hex::decode(P256_SEED).unwrap();
            explicit_der(&Explicit {
                p: &p,
                a: &a,
                b: &b,
                g: &self.g,
                n: &n,
                h: h.as_deref(),
                seed: self.seed.then_some(&seed[..]),
            })
        }
    }

    fn spelt_out_p256() -> Result<(KeyKind, ParamsForm), EcParamsError> {
        Ok((KeyKind::EcdsaP256, ParamsForm::Explicit))
    }

    #[test]
    fn the_named_curve_oids_and_curve_names_are_recognised() {
        let p256 = Ok((KeyKind::EcdsaP256, ParamsForm::Oid));
        assert_eq!(curve_of(P256_PARAMS), p256);
        assert_eq!(P256_OID.to_der().unwrap(), P256_PARAMS);
        assert_eq!(
            curve_of(ED25519_OID_PARAMS),
            Ok((KeyKind::Ed25519, ParamsForm::Oid))
        );
        assert_eq!(
            curve_of(ED25519_NAME_PARAMS),
            Ok((KeyKind::Ed25519, ParamsForm::CurveName))
        );
        for name in ["prime256v1", "secp256r1", "P-256"] {
            let der = PrintableStringRef::new(name).unwrap().to_der().unwrap();
            assert_eq!(
                curve_of(&der),
                Ok((KeyKind::EcdsaP256, ParamsForm::CurveName)),
                "{name}"
            );
        }
        // secp384r1, and names of other curves (or P-256's in another case):
        // refused, saying which.
        let p384 = hex::decode("06052b81040022").unwrap();
        assert_eq!(
            curve_of(&p384),
            Err(EcParamsError::OtherOid("1.3.132.0.34".into()))
        );
        for name in ["secp256k1", "PRIME256V1", "edwards448"] {
            let der = PrintableStringRef::new(name).unwrap().to_der().unwrap();
            assert_eq!(
                curve_of(&der),
                Err(EcParamsError::OtherName(name.into())),
                "{name}"
            );
        }
        assert_eq!(
            curve_of(&Null.to_der().unwrap()),
            Err(EcParamsError::ImplicitlyCa)
        );
    }

    #[test]
    fn p256_spelt_out_is_recognised_with_or_without_seed_and_cofactor_and_either_generator_form() {
        use GeneratorForm::{Compressed, Uncompressed};
        let full = p256_explicit(Uncompressed, true, true);
        // What OpenSSL (and so Debian 12's ykcs11) writes: seed, uncompressed
        // generator and cofactor, 250 bytes.
        assert_eq!(full.len(), 250);
        assert_eq!(&full[..6], &[0x30, 0x81, 0xf7, 0x02, 0x01, 0x01]);
        assert_eq!(full, Spelt::p256().der());
        assert_eq!(curve_of(&full), spelt_out_p256());

        for seed in [true, false] {
            for cofactor in [true, false] {
                for generator in [Uncompressed, Compressed] {
                    let der = p256_explicit(generator, seed, cofactor);
                    assert_eq!(
                        curve_of(&der),
                        spelt_out_p256(),
                        "seed {seed}, cofactor {cofactor}, generator {generator:?}"
                    );
                }
            }
        }
        // The compressed generator, written here by hand: G's y is odd (…f5).
        let g = hex::decode(p256_domain::G).unwrap();
        let compressed = [&[0x03][..], &g[1..33]].concat();
        let spelt = Spelt {
            g: compressed.clone(),
            ..Spelt::p256()
        };
        assert_eq!(spelt.der(), p256_explicit(Compressed, true, true));
        // The other parity byte is -G, a point of P-256 but not its
        // generator: refused.
        let spelt = Spelt {
            g: [&[0x02][..], &compressed[1..]].concat(),
            ..Spelt::p256()
        };
        assert_eq!(
            curve_of(&spelt.der()),
            Err(EcParamsError::OtherExplicit("generator"))
        );
    }

    #[test]
    fn the_generator_constant_is_p256s_own() {
        let g = p256::PublicKey::from_sec1_bytes(&hex::decode(p256_domain::G).unwrap()).unwrap();
        assert_eq!(
            g,
            p256::PublicKey::from_affine(p256::AffinePoint::GENERATOR).unwrap()
        );
    }

    #[test]
    fn secp256k1_spelt_out_is_refused() {
        assert_eq!(
            curve_of(&Spelt::secp256k1().der()),
            Err(EcParamsError::OtherExplicit("field prime p"))
        );
        let err = curve_of(&Spelt::secp256k1().der()).unwrap_err().to_string();
        assert!(err.contains("not P-256"), "{err}");
    }

    #[test]
    fn p256_with_one_part_changed_is_refused_naming_the_part() {
        let flip = |hex_value: &str| {
            let mut bytes = hex::decode(hex_value).unwrap();
            bytes[5] ^= 0x01;
            hex::encode(bytes)
        };
        let cases = [
            (
                Spelt {
                    b: flip(p256_domain::B),
                    ..Spelt::p256()
                },
                "coefficient b",
            ),
            (
                Spelt {
                    a: flip(p256_domain::A),
                    ..Spelt::p256()
                },
                "coefficient a",
            ),
            (
                Spelt {
                    p: flip(p256_domain::P),
                    ..Spelt::p256()
                },
                "field prime p",
            ),
            (
                Spelt {
                    n: flip(p256_domain::N),
                    ..Spelt::p256()
                },
                "order n",
            ),
            (
                Spelt {
                    h: Some("04".into()),
                    ..Spelt::p256()
                },
                "cofactor h",
            ),
            (
                Spelt {
                    g: hex::decode(k1::G).unwrap(),
                    ..Spelt::p256()
                },
                "generator",
            ),
        ];
        for (spelt, part) in cases {
            assert_eq!(
                curve_of(&spelt.der()),
                Err(EcParamsError::OtherExplicit(part)),
                "{part}"
            );
        }
    }

    #[test]
    fn truncated_and_garbage_der_is_refused_without_panic() {
        let full = Spelt::p256().der();
        for len in 0..full.len() {
            assert!(
                matches!(curve_of(&full[..len]), Err(EcParamsError::Malformed(_))),
                "{len} bytes of {}",
                full.len()
            );
        }
        let mut trailing = full.clone();
        trailing.push(0);
        assert!(matches!(
            curve_of(&trailing),
            Err(EcParamsError::Malformed(_))
        ));
        // Every single-byte change of the encoding is refused, except in
        // the seed, which is ignored: its 20 bytes may be anything, and a
        // change of its BIT STRING header (tag, length, unused bits) may
        // still be valid DER, or not; either way nothing panics.
        let seed_at = full
            .windows(20)
            .position(|w| w == hex::decode(P256_SEED).unwrap())
            .unwrap();
        for i in 0..full.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bytes = full.clone();
                bytes[i] ^= flip;
                let got = curve_of(&bytes);
                if (seed_at..seed_at + 20).contains(&i) {
                    assert_eq!(got, spelt_out_p256(), "byte {i} ^ {flip:#x}");
                } else if !(seed_at - 3..seed_at).contains(&i) {
                    assert!(got.is_err(), "byte {i} ^ {flip:#x}: {got:?}");
                }
            }
        }
        for garbage in [
            &b"\x30"[..],
            b"\x30\x80\x00\x00",
            b"\x30\x84\xff\xff\xff\xff",
            b"\x06\x00",
            b"\x13\x03\xff\xfe\xfd",
            b"\x05\x01\x00",
            b"\x04\x41\x04",
            b"edwards25519",
        ] {
            assert!(curve_of(garbage).is_err(), "{}", hex::encode(garbage));
        }
    }

    #[test]
    fn a_field_that_is_not_prime_is_refused() {
        let mut der = Spelt::p256().der();
        // id-prime-Field 1.2.840.10045.1.1 → characteristic-two-field .1.2.
        let at = der
            .windows(9)
            .position(|w| w == hex::decode("06072a8648ce3d0101").unwrap())
            .unwrap();
        der[at + 8] = 0x02;
        assert_eq!(
            curve_of(&der),
            Err(EcParamsError::OtherExplicit("field (not a prime field)"))
        );
    }
}
