//! The master key: 32 random bytes, configured once (base64, inline or in a file), from
//! which every other server-side secret is derived: the vault's encryption key and the
//! JWT signing secret. One key to back up, one key to rotate.

use std::{fmt, path::Path};

use base64::{
    Engine, alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig, general_purpose::STANDARD},
};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{
    encoding::{random_array, sha256_hex},
    error::AuthError,
};

/// Length of a master key in bytes.
pub const MASTER_KEY_LEN: usize = 32;

/// Standard base64, padding optional: people paste keys with or without the `=`.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A 256-bit master key. Its `Debug` shows only the key id.
#[derive(Clone)]
pub struct MasterKey([u8; MASTER_KEY_LEN]);

impl MasterKey {
    /// Parses a base64-encoded 32-byte key (surrounding whitespace ignored).
    ///
    /// Error messages never include the input, not even the offending character.
    pub fn from_base64(s: &str) -> Result<Self, AuthError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(AuthError::InvalidMasterKey(
                "master key is empty (expected 32 random bytes in base64)".to_owned(),
            ));
        }
        let bytes = LENIENT_BASE64.decode(s).map_err(|_| {
            AuthError::InvalidMasterKey(
                "master key is not valid base64 (expected 32 random bytes in base64, \
                 e.g. from `openssl rand -base64 32`)"
                    .to_owned(),
            )
        })?;
        let key: [u8; MASTER_KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
            AuthError::InvalidMasterKey(format!(
                "master key must decode to {MASTER_KEY_LEN} bytes, got {}",
                bytes.len()
            ))
        })?;
        Ok(Self(key))
    }

    /// Reads a base64 key from a file (trailing newline and spaces ignored).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, AuthError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|err| {
            AuthError::InvalidMasterKey(format!(
                "cannot read master key file {}: {}",
                path.display(),
                err.kind()
            ))
        })?;
        Self::from_base64(&text).map_err(|err| match err {
            AuthError::InvalidMasterKey(msg) => {
                AuthError::InvalidMasterKey(format!("{msg} (in file {})", path.display()))
            }
            other => other,
        })
    }

    /// A fresh random key and its base64 form (to write to the config or a file).
    pub fn generate() -> (Self, String) {
        let key = Self(random_array());
        let encoded = STANDARD.encode(key.0);
        (key, encoded)
    }

    /// First 16 hex characters of SHA-256 of the key: names the key that sealed a secret
    /// without revealing anything usable about it.
    pub fn key_id(&self) -> String {
        let mut id = sha256_hex(&self.0);
        id.truncate(16);
        id
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(id={})", self.key_id())
    }
}

/// Derives a 32-byte key for `purpose` from the master key.
///
/// This is HKDF-SHA256 (RFC 5869) with the extract step skipped, as §3.3 allows when the
/// input is already a uniformly random key: `HKDF-Expand(PRK = master, info = purpose,
/// L = 32)`, i.e. `HMAC-SHA256(master, purpose || 0x01)`. Different purposes give
/// independent keys, so the JWT secret reveals nothing about the vault key.
pub fn derive_subkey(master: &MasterKey, purpose: &str) -> [u8; 32] {
    hkdf_expand_32(&master.0, purpose.as_bytes())
}

fn hkdf_expand_32(prk: &[u8; 32], info: &[u8]) -> [u8; 32] {
    // HMAC zero-pads keys shorter than its 64-byte block, so padding here is the same
    // key; it makes construction infallible (no `new_from_slice` error to handle).
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(prk);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    mac.update(info);
    mac.update(&[1]);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_message(result: Result<MasterKey, AuthError>) -> String {
        match result {
            Err(AuthError::InvalidMasterKey(msg)) => msg,
            other => panic!("expected InvalidMasterKey, got {other:?}"),
        }
    }

    #[test]
    fn generated_key_round_trips_through_base64() -> Result<(), AuthError> {
        let (key, encoded) = MasterKey::generate();
        let parsed = MasterKey::from_base64(&format!("  {encoded}\n"))?;
        assert_eq!(parsed.key_id(), key.key_id());
        let unpadded = MasterKey::from_base64(encoded.trim_end_matches('='))?;
        assert_eq!(unpadded.key_id(), key.key_id());
        Ok(())
    }

    #[test]
    fn bad_base64_and_wrong_lengths_are_rejected_clearly() {
        let msg = invalid_message(MasterKey::from_base64("not base64!!"));
        assert!(msg.contains("not valid base64"), "{msg}");
        assert!(!msg.contains("!!"), "{msg}");
        let msg = invalid_message(MasterKey::from_base64(&STANDARD.encode([7u8; 16])));
        assert_eq!(msg, "master key must decode to 32 bytes, got 16");
        let msg = invalid_message(MasterKey::from_base64(&STANDARD.encode([7u8; 33])));
        assert_eq!(msg, "master key must decode to 32 bytes, got 33");
        let msg = invalid_message(MasterKey::from_base64("   \n"));
        assert!(msg.contains("empty"), "{msg}");
    }

    #[test]
    fn from_file_trims_and_reports_missing_files() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let (key, encoded) = MasterKey::generate();
        let path = dir.path().join("master.key");
        std::fs::write(&path, format!("{encoded}\n"))?;
        assert_eq!(MasterKey::from_file(&path)?.key_id(), key.key_id());

        let msg = invalid_message(MasterKey::from_file(dir.path().join("missing.key")));
        assert!(msg.contains("cannot read master key file") && msg.contains("missing.key"));
        std::fs::write(&path, "short")?;
        let msg = invalid_message(MasterKey::from_file(&path));
        assert!(msg.contains("master.key"), "{msg}");
        Ok(())
    }

    #[test]
    fn key_id_is_16_hex_and_differs_per_key() {
        let (a, _) = MasterKey::generate();
        let (b, _) = MasterKey::generate();
        assert_eq!(a.key_id().len(), 16);
        assert!(a.key_id().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.key_id(), b.key_id());
        assert_eq!(a.key_id(), a.clone().key_id());
    }

    #[test]
    fn debug_shows_id_not_key() -> Result<(), AuthError> {
        let (key, encoded) = MasterKey::generate();
        let debug = format!("{key:?}");
        assert_eq!(debug, format!("MasterKey(id={})", key.key_id()));
        assert!(!debug.contains(&encoded));
        let raw = MasterKey::from_base64(&STANDARD.encode([0xabu8; 32]))?;
        assert!(
            !format!("{raw:?}").contains("171, 171"),
            "byte values must not appear"
        );
        Ok(())
    }

    #[test]
    fn hkdf_expand_matches_rfc5869_test_case_1() {
        // RFC 5869 A.1: PRK and info as given; the first 32 bytes of OKM are T(1).
        let prk: [u8; 32] = [
            0x07, 0x77, 0x09, 0x36, 0x2c, 0x2e, 0x32, 0xdf, 0x0d, 0xdc, 0x3f, 0x0d, 0xc4, 0x7b,
            0xba, 0x63, 0x90, 0xb6, 0xc7, 0x3b, 0xb5, 0x0f, 0x9c, 0x31, 0x22, 0xec, 0x84, 0x4a,
            0xd7, 0xc2, 0xb3, 0xe5,
        ];
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        assert_eq!(
            crate::encoding::hex(&hkdf_expand_32(&prk, &info)),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        );
    }

    #[test]
    fn subkeys_differ_by_purpose_and_by_master() {
        let (a, _) = MasterKey::generate();
        let (b, _) = MasterKey::generate();
        assert_eq!(derive_subkey(&a, "jwt"), derive_subkey(&a, "jwt"));
        assert_ne!(derive_subkey(&a, "jwt"), derive_subkey(&a, "vault"));
        assert_ne!(derive_subkey(&a, "jwt"), derive_subkey(&b, "jwt"));
    }
}
