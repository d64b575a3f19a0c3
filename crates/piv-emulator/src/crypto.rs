//! The card's cryptography: the management key's block cipher (3DES or AES),
//! random bytes, and P-256 keys that sign a digest the host sends.

use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use p256::ecdsa::{Signature, SigningKey, signature::hazmat::PrehashSigner};
use zeroize::Zeroizing;

/// The YubiKey's default management key (the same 24 bytes for 3DES and
/// AES-192).
pub const DEFAULT_MGM_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

/// Management-key algorithms, with the PIV algorithm ids the host sends in
/// P1 of GENERAL AUTHENTICATE and that GET METADATA reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MgmAlgorithm {
    /// Triple DES (EDE3), 24-byte key: the default before firmware 5.7.
    Tdes,
    /// AES-128.
    Aes128,
    /// AES-192: the default from firmware 5.7.
    Aes192,
    /// AES-256.
    Aes256,
}

/// Why a block operation could not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadKeyOrBlock;

impl MgmAlgorithm {
    /// The PIV algorithm id (`03`, `08`, `0A`, `0C`).
    pub fn id(self) -> u8 {
        match self {
            MgmAlgorithm::Tdes => 0x03,
            MgmAlgorithm::Aes128 => 0x08,
            MgmAlgorithm::Aes192 => 0x0A,
            MgmAlgorithm::Aes256 => 0x0C,
        }
    }

    /// The algorithm with PIV id `id`.
    pub fn from_id(id: u8) -> Option<MgmAlgorithm> {
        Some(match id {
            0x03 => MgmAlgorithm::Tdes,
            0x08 => MgmAlgorithm::Aes128,
            0x0A => MgmAlgorithm::Aes192,
            0x0C => MgmAlgorithm::Aes256,
            _ => return None,
        })
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            MgmAlgorithm::Tdes | MgmAlgorithm::Aes192 => 24,
            MgmAlgorithm::Aes128 => 16,
            MgmAlgorithm::Aes256 => 32,
        }
    }

    /// Block length in bytes: the length of the challenges exchanged.
    pub fn block_len(self) -> usize {
        match self {
            MgmAlgorithm::Tdes => 8,
            _ => 16,
        }
    }

    /// Encrypts one block in place with `key`.
    pub fn encrypt(self, key: &[u8], block: &mut [u8]) -> Result<(), BadKeyOrBlock> {
        fn run<C: KeyInit + BlockCipherEncrypt>(
            key: &[u8],
            block: &mut [u8],
        ) -> Result<(), BadKeyOrBlock> {
            let cipher = C::new_from_slice(key).map_err(|_| BadKeyOrBlock)?;
            cipher.encrypt_block(block.try_into().map_err(|_| BadKeyOrBlock)?);
            Ok(())
        }
        match self {
            MgmAlgorithm::Tdes => run::<des::TdesEde3>(key, block),
            MgmAlgorithm::Aes128 => run::<aes::Aes128>(key, block),
            MgmAlgorithm::Aes192 => run::<aes::Aes192>(key, block),
            MgmAlgorithm::Aes256 => run::<aes::Aes256>(key, block),
        }
    }

    /// Decrypts one block in place with `key`.
    pub fn decrypt(self, key: &[u8], block: &mut [u8]) -> Result<(), BadKeyOrBlock> {
        fn run<C: KeyInit + BlockCipherDecrypt>(
            key: &[u8],
            block: &mut [u8],
        ) -> Result<(), BadKeyOrBlock> {
            let cipher = C::new_from_slice(key).map_err(|_| BadKeyOrBlock)?;
            cipher.decrypt_block(block.try_into().map_err(|_| BadKeyOrBlock)?);
            Ok(())
        }
        match self {
            MgmAlgorithm::Tdes => run::<des::TdesEde3>(key, block),
            MgmAlgorithm::Aes128 => run::<aes::Aes128>(key, block),
            MgmAlgorithm::Aes192 => run::<aes::Aes192>(key, block),
            MgmAlgorithm::Aes256 => run::<aes::Aes256>(key, block),
        }
    }
}

/// `n` bytes from the operating system's random source.
pub fn random(n: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(vec![0u8; n]);
    getrandom::fill(&mut out).expect("the OS random source failed");
    out
}

/// A new random P-256 key.
pub fn generate_p256() -> SigningKey {
    loop {
        // A random 32-byte string is a valid scalar except with negligible
        // probability; try again in that case.
        if let Ok(key) = SigningKey::from_slice(&random(32)) {
            return key;
        }
    }
}

/// The uncompressed SEC1 point (`04 x y`, 65 bytes) of `key`.
pub fn public_point(key: &SigningKey) -> Vec<u8> {
    key.verifying_key().to_sec1_point(false).as_bytes().to_vec()
}

/// ECDSA over a digest the host computed, as a YubiKey does it: the input
/// is taken as the hash (shorter input is left-padded by the ECDSA
/// bits-to-field rule). Returns the signature in ASN.1 DER.
pub fn sign_digest(key: &SigningKey, digest: &[u8]) -> Option<Vec<u8>> {
    let sig: Signature = key.sign_prehash(digest).ok()?;
    Some(sig.to_der().as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{VerifyingKey, signature::hazmat::PrehashVerifier};

    // Known answers for an all-zero block under the default management
    // key, computed with OpenSSL (`openssl enc -des-ede3 -K 0102…08 -nopad`,
    // `openssl enc -aes-192-ecb -K 0102…08 -nopad`).
    #[test]
    fn tdes_default_key_known_answer() {
        let mut block = [0u8; 8];
        MgmAlgorithm::Tdes
            .encrypt(&DEFAULT_MGM_KEY, &mut block)
            .unwrap();
        assert_eq!(hex::encode(block), TDES_KAT);
        MgmAlgorithm::Tdes
            .decrypt(&DEFAULT_MGM_KEY, &mut block)
            .unwrap();
        assert_eq!(block, [0u8; 8]);
    }

    #[test]
    fn aes192_default_key_known_answer() {
        let mut block = [0u8; 16];
        MgmAlgorithm::Aes192
            .encrypt(&DEFAULT_MGM_KEY, &mut block)
            .unwrap();
        assert_eq!(hex::encode(block), AES192_KAT);
        MgmAlgorithm::Aes192
            .decrypt(&DEFAULT_MGM_KEY, &mut block)
            .unwrap();
        assert_eq!(block, [0u8; 16]);
    }

    const TDES_KAT: &str = "b073dc3fb209536d";
    const AES192_KAT: &str = "5c8153e77589b223422406bf22908e22";

    #[test]
    fn wrong_sizes_are_refused() {
        let mut block = [0u8; 16];
        assert!(
            MgmAlgorithm::Tdes
                .encrypt(&DEFAULT_MGM_KEY, &mut block)
                .is_err()
        );
        assert!(
            MgmAlgorithm::Aes192
                .encrypt(&DEFAULT_MGM_KEY[..16], &mut block)
                .is_err()
        );
    }

    #[test]
    fn ids_round_trip() {
        for alg in [
            MgmAlgorithm::Tdes,
            MgmAlgorithm::Aes128,
            MgmAlgorithm::Aes192,
            MgmAlgorithm::Aes256,
        ] {
            assert_eq!(MgmAlgorithm::from_id(alg.id()), Some(alg));
        }
        assert_eq!(MgmAlgorithm::from_id(0x11), None);
    }

    #[test]
    fn signs_a_digest_that_verifies() {
        let key = generate_p256();
        let point = public_point(&key);
        assert_eq!((point.len(), point[0]), (65, 4));
        let digest = [0x42u8; 32];
        let der = sign_digest(&key, &digest).unwrap();
        let vk = VerifyingKey::from_sec1_bytes(&point).unwrap();
        let sig = Signature::from_der(&der).unwrap();
        vk.verify_prehash(&digest, &sig).unwrap();
    }
}
