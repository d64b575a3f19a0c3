//! The token's signing keys, and the TUF key objects they publish.
//!
//! A signing key is a private-key object with `CKA_SIGN`, paired by `CKA_ID`
//! with the public-key object that carries `CKA_EC_PARAMS` and
//! `CKA_EC_POINT`. From those two attributes we build the TUF key exactly as
//! python-tuf publishes it, because the key id is the hash of that object:
//! P-256 as keytype `ecdsa` with a PEM SPKI (byte for byte what Python's
//! `cryptography` writes), Ed25519 as keytype `ed25519` with hex.

use std::fmt;

use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use tuf_metadata::{Key, KeyId};

use super::ec_params::curve_of;
use super::errors::sign_error;
use super::token::Token;
use crate::{KeyKind, SignError};

pub use super::ec_params::{ED25519_NAME_PARAMS, ED25519_OID_PARAMS, P256_PARAMS};

/// Recognises `CKA_EC_PARAMS` in any of its forms ([`super::ec_params`]);
/// `None` for any other curve.
pub fn kind_from_ec_params(params: &[u8]) -> Option<KeyKind> {
    curve_of(params).ok().map(|(kind, _)| kind)
}

/// The public point from `CKA_EC_POINT`: the DER OCTET STRING around it
/// stripped (the spec's form), or taken as is where a module returns it
/// bare.
pub fn public_point(kind: KeyKind, ec_point: &[u8]) -> Option<&[u8]> {
    let len = match kind {
        KeyKind::EcdsaP256 => 65,
        KeyKind::Ed25519 => 32,
    };
    let point = match ec_point {
        [0x04, n, rest @ ..] if usize::from(*n) == len && rest.len() == len => rest,
        bare if bare.len() == len => bare,
        _ => return None,
    };
    (kind == KeyKind::Ed25519 || point[0] == 0x04).then_some(point)
}

/// A signing key on the token, with the TUF key it publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenKey {
    /// `CKA_LABEL` (may be empty).
    pub label: String,
    /// `CKA_ID`, the pairing between the private and public objects.
    pub id: Vec<u8>,
    /// Which algorithm.
    pub kind: KeyKind,
    /// The TUF key object as it is published in metadata.
    pub key: Key,
    /// Its TUF key id.
    pub key_id: KeyId,
    /// `CKA_ALWAYS_AUTHENTICATE`: the token wants the PIN again before every
    /// signature (YubiKey PIV slot 9c): the signer logs in again
    /// (`CKU_CONTEXT_SPECIFIC`) with the PIN given to
    /// [`super::Pkcs11Signer::with_context_pin`].
    pub always_authenticate: bool,
    /// `CKA_LOCAL` and `CKA_NEVER_EXTRACTABLE`, where the token tells:
    /// `Some(true)` means generated on the token and never exportable.
    pub born_on_token: Option<bool>,
}

impl TokenKey {
    /// How this key is named in messages: its label, else its `CKA_ID`.
    pub fn name(&self) -> String {
        if self.label.is_empty() {
            format!("CKA_ID {}", hex::encode(&self.id))
        } else {
            format!("{:?}", self.label)
        }
    }
}

/// A private key with `CKA_SIGN` that cannot be used, and why (no public
/// half, an unsupported curve): listed so "key not found" can say so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnusableKey {
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// Why it cannot sign TUF metadata.
    pub reason: String,
}

impl UnusableKey {
    /// How it is named in messages, with why it cannot sign:
    /// `"label" (CKA_ID 02): reason`.
    pub fn describe(&self) -> String {
        format!(
            "{:?} (CKA_ID {}): {}",
            self.label,
            hex::encode(&self.id),
            self.reason
        )
    }
}

/// All signing keys visible in the session (private keys are visible only
/// after login).
#[derive(Clone, Debug, Default)]
pub struct KeyListing {
    /// Keys that can sign.
    pub usable: Vec<TokenKey>,
    /// Keys that cannot, with the reason.
    pub unusable: Vec<UnusableKey>,
}

/// Which key to sign with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySelector {
    /// By `CKA_LABEL`.
    Label(String),
    /// By `CKA_ID`.
    Id(Vec<u8>),
    /// By the TUF key id the metadata expects.
    KeyId(KeyId),
    /// The token's only usable signing key.
    Only,
}

impl KeySelector {
    fn matches(&self, key: &TokenKey) -> bool {
        match self {
            KeySelector::Label(l) => key.label == *l,
            KeySelector::Id(id) => key.id == *id,
            KeySelector::KeyId(k) => key.key_id == *k,
            KeySelector::Only => true,
        }
    }
}

impl fmt::Display for KeySelector {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            KeySelector::Label(l) => write!(f, "label {l:?}"),
            KeySelector::Id(id) => write!(f, "CKA_ID {}", hex::encode(id)),
            KeySelector::KeyId(k) => write!(f, "TUF key id {k}"),
            KeySelector::Only => f.write_str("the token's only signing key"),
        }
    }
}

impl KeyListing {
    /// The one key `selector` names, or [`SignError::KeyNotFound`] naming
    /// what was asked for and what is there.
    pub fn select(self, selector: &KeySelector, token_label: &str) -> Result<TokenKey, SignError> {
        let (mut found, others): (Vec<TokenKey>, Vec<TokenKey>) =
            self.usable.into_iter().partition(|k| selector.matches(k));
        if found.len() == 1 {
            return Ok(found.remove(0));
        }
        if found.len() > 1 {
            let names: Vec<String> = found.iter().map(describe).collect();
            return Err(SignError::Backend(format!(
                "{} keys on token {token_label:?} match {selector}: {}; choose one by label, CKA_ID or key id",
                found.len(),
                names.join("; ")
            )));
        }
        let mut there: Vec<String> = others.iter().map(describe).collect();
        there.extend(self.unusable.iter().map(UnusableKey::describe));
        let present = if there.is_empty() {
            "it has no signing keys (is the user logged in?)".to_owned()
        } else {
            format!("it has {}", there.join("; "))
        };
        Err(SignError::KeyNotFound(format!(
            "no usable key with {selector} on token {token_label:?}: {present}"
        )))
    }
}

fn describe(k: &TokenKey) -> String {
    format!("{} ({}, key id {})", k.name(), k.kind, k.key_id)
}

impl Token {
    /// Lists the signing keys the session can see.
    pub fn keys(&self) -> Result<KeyListing, SignError> {
        let session = self.session();
        let reading = |e| sign_error(e, "reading the token's keys");
        let privates = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Sign(true),
            ])
            .map_err(reading)?;
        let mut listing = KeyListing::default();
        for private in privates {
            match self.read_key(private)? {
                Ok(key) => listing.usable.push(key),
                Err(unusable) => listing.unusable.push(unusable),
            }
        }
        Ok(listing)
    }

    /// Finds the key `selector` names.
    pub fn find_key(&self, selector: &KeySelector) -> Result<TokenKey, SignError> {
        self.keys()?.select(selector, &self.summary().label)
    }

    /// The private-key object of `key`, found again by `CKA_ID` and label
    /// (handles are not kept in [`TokenKey`], which is plain data).
    pub(super) fn private_handle(&self, key: &TokenKey) -> Result<ObjectHandle, SignError> {
        let found = self
            .session()
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Sign(true),
                Attribute::Id(key.id.clone()),
                Attribute::Label(key.label.clone().into_bytes()),
            ])
            .map_err(|e| sign_error(e, "finding the private key"))?;
        match found[..] {
            [one] => Ok(one),
            [] => Err(SignError::KeyNotFound(format!(
                "the private key {} is no longer on token {:?} (or the user is not logged in)",
                key.name(),
                self.summary().label
            ))),
            _ => Err(SignError::Backend(format!(
                "{} private keys on token {:?} share the label and CKA_ID of {}: give them distinct CKA_IDs",
                found.len(),
                self.summary().label,
                key.name()
            ))),
        }
    }

    /// Reads one private key and its public half. The outer error is the
    /// token failing; the inner one a key we cannot use.
    pub(super) fn read_key(
        &self,
        private: ObjectHandle,
    ) -> Result<Result<TokenKey, UnusableKey>, SignError> {
        let session = self.session();
        let reading = |e| sign_error(e, "reading a key's attributes");
        let attrs = session
            .get_attributes(
                private,
                &[
                    AttributeType::Id,
                    AttributeType::Label,
                    AttributeType::AlwaysAuthenticate,
                    AttributeType::Local,
                    AttributeType::NeverExtractable,
                ],
            )
            .map_err(reading)?;
        let (mut id, mut label) = (Vec::new(), String::new());
        let (mut always_authenticate, mut local, mut never_extractable) = (false, None, None);
        for attr in attrs {
            match attr {
                Attribute::Id(v) => id = v,
                Attribute::Label(v) => label = String::from_utf8_lossy(&v).into_owned(),
                Attribute::AlwaysAuthenticate(b) => always_authenticate = b,
                Attribute::Local(b) => local = Some(b),
                Attribute::NeverExtractable(b) => never_extractable = Some(b),
                _ => {}
            }
        }
        let unusable = |reason: String| UnusableKey {
            label: label.clone(),
            id: id.clone(),
            reason,
        };
        // Pair by CKA_ID; a token that leaves it empty is paired by label.
        let pairing = if id.is_empty() {
            Attribute::Label(label.clone().into_bytes())
        } else {
            Attribute::Id(id.clone())
        };
        let publics = session
            .find_objects(&[Attribute::Class(ObjectClass::PUBLIC_KEY), pairing])
            .map_err(reading)?;
        let Some(&public) = publics.first() else {
            return Ok(Err(unusable(
                "no public-key object with the same CKA_ID".into(),
            )));
        };
        let (kind, key) = match self.tuf_key_of(public)? {
            Ok(found) => found,
            Err(reason) => return Ok(Err(unusable(reason))),
        };
        Ok(Ok(TokenKey {
            key_id: key.key_id(),
            label,
            id,
            kind,
            key,
            always_authenticate,
            born_on_token: local.zip(never_extractable).map(|(l, n)| l && n),
        }))
    }

    /// The public keys the token shows without a login, with their labels:
    /// so the keyholder sees which key of the ceremony a token holds before
    /// typing a PIN. Keys of other types are left out.
    pub fn public_keys(&self) -> Result<Vec<(String, Key)>, SignError> {
        let session = self.session();
        let reading = |e| sign_error(e, "reading the token's public keys");
        let publics = session
            .find_objects(&[Attribute::Class(ObjectClass::PUBLIC_KEY)])
            .map_err(reading)?;
        let mut keys = Vec::new();
        for public in publics {
            let mut label = String::new();
            for attr in session
                .get_attributes(public, &[AttributeType::Label])
                .map_err(reading)?
            {
                if let Attribute::Label(v) = attr {
                    label = String::from_utf8_lossy(&v).into_owned();
                }
            }
            if let Ok((_, key)) = self.tuf_key_of(public)? {
                keys.push((label, key));
            }
        }
        Ok(keys)
    }

    /// The TUF key of a public-key object, or why it is not one we sign with.
    fn tuf_key_of(
        &self,
        public: ObjectHandle,
    ) -> Result<Result<(KeyKind, Key), String>, SignError> {
        let session = self.session();
        let reading = |e| sign_error(e, "reading a key's attributes");
        let mut params = Vec::new();
        let mut point = Vec::new();
        for attr in session
            .get_attributes(public, &[AttributeType::EcParams, AttributeType::EcPoint])
            .map_err(reading)?
        {
            match attr {
                Attribute::EcParams(v) => params = v,
                Attribute::EcPoint(v) => point = v,
                _ => {}
            }
        }
        Ok(tuf_key_from(&params, &point))
    }
}

/// The TUF key of a public-key object's `CKA_EC_PARAMS` and `CKA_EC_POINT`,
/// or why it is not one we sign with (shown beside the key's label and
/// `CKA_ID` when no usable key is found).
pub fn tuf_key_from(params: &[u8], point: &[u8]) -> Result<(KeyKind, Key), String> {
    let kind = match curve_of(params) {
        Ok((kind, _form)) => kind,
        Err(e) => {
            return Err(format!(
                "not a P-256 or Ed25519 key: {e} ({})",
                shown(params)
            ));
        }
    };
    let Some(raw) = public_point(kind, point) else {
        return Err(format!("CKA_EC_POINT is not a {kind} public key"));
    };
    kind.tuf_key(raw).map(|key| (kind, key))
}

/// An attribute's bytes for a message: hex, cut short when long.
fn shown(bytes: &[u8]) -> String {
    const MAX: usize = 24;
    if bytes.len() <= MAX {
        format!("CKA_EC_PARAMS {}", hex::encode(bytes))
    } else {
        format!(
            "CKA_EC_PARAMS {}… ({} bytes)",
            hex::encode(&bytes[..MAX]),
            bytes.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A P-256 public point (the generator, times 1: a valid point).
    const G: &str = "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";

    #[test]
    fn ec_params_in_every_form_tokens_use_are_recognised() {
        assert_eq!(kind_from_ec_params(P256_PARAMS), Some(KeyKind::EcdsaP256));
        assert_eq!(
            kind_from_ec_params(ED25519_OID_PARAMS),
            Some(KeyKind::Ed25519)
        );
        assert_eq!(
            kind_from_ec_params(ED25519_NAME_PARAMS),
            Some(KeyKind::Ed25519)
        );
        assert_eq!(
            kind_from_ec_params(&ykcs11_22_params()),
            Some(KeyKind::EcdsaP256)
        );
        // secp384r1
        let p384 = hex::decode("06052b81040022").unwrap();
        assert_eq!(kind_from_ec_params(&p384), None);
    }

    /// `CKA_EC_PARAMS` as Debian 12's ykcs11 returns it for a P-256 key it
    /// builds from GET METADATA: the 250-byte ECParameters SEQUENCE OpenSSL
    /// writes (crates/ceremony/tests/explicit_ec_params.rs checks the
    /// live module returns exactly these bytes).
    fn ykcs11_22_params() -> Vec<u8> {
        use crate::pkcs11::ec_params::{GeneratorForm, p256_explicit};
        p256_explicit(GeneratorForm::Uncompressed, true, true)
    }

    #[test]
    fn a_key_with_explicit_p256_parameters_publishes_the_same_tuf_key_as_with_the_oid() {
        let point = hex::decode(G).unwrap();
        let mut wrapped = vec![0x04, 0x41];
        wrapped.extend(&point);
        let explicit = ykcs11_22_params();
        let (kind, key) = tuf_key_from(&explicit, &wrapped).unwrap();
        assert_eq!(kind, KeyKind::EcdsaP256);
        assert_eq!((kind, key), tuf_key_from(P256_PARAMS, &point).unwrap());
    }

    #[test]
    fn a_key_of_another_spelt_out_curve_is_unusable_naming_token_key_and_part() {
        let point = hex::decode(G).unwrap();
        let mut params = ykcs11_22_params();
        // The last byte of coefficient b (…27d2604b).
        let b_end = params
            .windows(3)
            .position(|w| w == [0xd2, 0x60, 0x4b])
            .unwrap()
            + 2;
        params[b_end] ^= 0x01;
        let reason = tuf_key_from(&params, &point).unwrap_err();
        assert!(
            reason.starts_with(
                "not a P-256 or Ed25519 key: CKA_EC_PARAMS spells out a curve that is not P-256: its coefficient b differs from P-256's (CKA_EC_PARAMS 3081f7020101"
            ),
            "{reason}"
        );
        assert!(reason.ends_with("… (250 bytes))"), "{reason}");
        let listing = KeyListing {
            usable: vec![],
            unusable: vec![UnusableKey {
                label: "Private key for Digital Signature".into(),
                id: vec![2],
                reason,
            }],
        };
        let text = listing
            .select(&KeySelector::Only, "YubiKey PIV #64000002")
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("on token \"YubiKey PIV #64000002\""),
            "{text}"
        );
        assert!(
            text.contains(
                "\"Private key for Digital Signature\" (CKA_ID 02): not a P-256 or Ed25519 key"
            ),
            "{text}"
        );
        assert!(text.contains("coefficient b differs"), "{text}");
    }

    #[test]
    fn ec_point_octet_string_is_stripped_and_bare_points_accepted() {
        let point = hex::decode(G).unwrap();
        let mut wrapped = vec![0x04, 0x41];
        wrapped.extend(&point);
        let p256 = KeyKind::EcdsaP256;
        assert_eq!(public_point(p256, &wrapped), Some(&point[..]));
        assert_eq!(public_point(p256, &point), Some(&point[..]));
        assert_eq!(public_point(p256, &wrapped[..66]), None);
        let mut compressed = point.clone();
        compressed[0] = 0x02;
        assert_eq!(public_point(p256, &compressed), None);
        let ed = [7u8; 32];
        let mut wrapped_ed = vec![0x04, 0x20];
        wrapped_ed.extend(ed);
        assert_eq!(public_point(KeyKind::Ed25519, &wrapped_ed), Some(&ed[..]));
        assert_eq!(public_point(KeyKind::Ed25519, &ed), Some(&ed[..]));
    }

    #[test]
    fn p256_keys_are_published_as_python_tuf_writes_them() {
        let point = hex::decode(G).unwrap();
        let key = KeyKind::EcdsaP256.tuf_key(&point).unwrap();
        assert_eq!(
            (key.keytype.as_str(), key.scheme.as_str()),
            ("ecdsa", "ecdsa-sha2-nistp256")
        );
        // The SPKI is a fixed 26-byte header then the point; PEM is base64 in
        // 64-character lines with LF endings.
        let der = [
            hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap(),
            point.clone(),
        ]
        .concat();
        let b64 = base64_encode(&der);
        let expected = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n",
            &b64[..64],
            &b64[64..]
        );
        assert_eq!(key.public, expected);
        assert_eq!(
            key.public_key().unwrap(),
            tuf_metadata::PublicKey::EcdsaP256(point)
        );
        let ed = KeyKind::Ed25519.tuf_key(&[0xab; 32]).unwrap();
        assert_eq!((ed.keytype.as_str(), ed.public.len()), ("ed25519", 64));
    }

    /// Plain base64 with padding, written out so the test does not trust
    /// the code it checks.
    fn base64_encode(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn key_not_found_names_what_was_asked_for_and_what_is_there() {
        let key = KeyKind::Ed25519.tuf_key(&[1; 32]).unwrap();
        let listing = KeyListing {
            usable: vec![TokenKey {
                label: "present".into(),
                id: vec![1],
                kind: KeyKind::Ed25519,
                key_id: key.key_id(),
                key,
                always_authenticate: false,
                born_on_token: None,
            }],
            unusable: vec![UnusableKey {
                label: "rsa".into(),
                id: vec![2],
                reason: "not a P-256 or Ed25519 key".into(),
            }],
        };
        let err = listing
            .clone()
            .select(&KeySelector::Label("missing".into()), "tok")
            .unwrap_err();
        assert!(matches!(err, SignError::KeyNotFound(_)));
        let text = err.to_string();
        assert!(text.contains("label \"missing\""), "{text}");
        assert!(text.contains("\"present\" (Ed25519"), "{text}");
        assert!(text.contains("\"rsa\" (CKA_ID 02): not a P-256"), "{text}");
        let found = listing.select(&KeySelector::Id(vec![1]), "tok").unwrap();
        assert_eq!(found.label, "present");
    }
}
