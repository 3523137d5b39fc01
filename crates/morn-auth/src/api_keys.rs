//! API keys for the `/v1` gateway: `mk_<8 base62 prefix>_<32 base62 secret>`.
//!
//! The prefix (`mk_` + 8 characters) is stored in clear and shown in listings so people
//! can tell keys apart; it is unique (the store enforces it; a collision, about one in
//! 10^14 per pair, is retried by generating a new key). The secret part carries about
//! 190 bits of entropy; the whole key about 238.
//!
//! Only the hex SHA-256 of the full key is stored. Why not Argon2 as for passwords:
//! a password is low-entropy and must be slow to guess, while a random 238-bit key
//! cannot be brute-forced at any hash speed, and the gateway hashes the presented key
//! on every request to look it up (by index or in the in-memory key cache), which must
//! take microseconds, not tens of milliseconds.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::encoding::{hex, random_base62};

/// Fixed start of every key: identifies Morn keys in logs and to secret scanners.
pub const API_KEY_PREFIX: &str = "mk_";
/// Random characters in the visible prefix.
const PREFIX_RANDOM_LEN: usize = 8;
/// Random characters in the secret part.
const SECRET_LEN: usize = 32;
/// Length of the visible prefix, `mk_` included.
pub const PREFIX_LEN: usize = API_KEY_PREFIX.len() + PREFIX_RANDOM_LEN;
/// Length of a full key.
pub const API_KEY_LEN: usize = PREFIX_LEN + 1 + SECRET_LEN;

/// A freshly generated key. `key` is shown to its owner once and never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// The full key, e.g. `mk_Ab3dE6gH_...`.
    pub key: String,
    /// The visible, unique prefix, e.g. `mk_Ab3dE6gH`.
    pub prefix: String,
    /// Hex SHA-256 of the full key, to store and look up by.
    pub hash: String,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("key", &"[redacted]")
            .field("prefix", &self.prefix)
            .field("hash", &self.hash)
            .finish()
    }
}

/// Generates a new API key.
pub fn generate_api_key() -> GeneratedKey {
    let prefix = format!("{API_KEY_PREFIX}{}", random_base62(PREFIX_RANDOM_LEN));
    let key = format!("{prefix}_{}", random_base62(SECRET_LEN));
    let hash = hash_api_key(&key);
    GeneratedKey { key, prefix, hash }
}

/// Hex SHA-256 of the full key, as stored.
pub fn hash_api_key(key: &str) -> String {
    hex(&api_key_digest(key))
}

/// SHA-256 of the full key, as bytes: what the request path looks keys up by (no hex
/// string to build and hash per request).
pub type KeyDigest = [u8; 32];

/// The [`KeyDigest`] of `key`.
pub fn api_key_digest(key: &str) -> KeyDigest {
    Sha256::digest(key.as_bytes()).into()
}

/// The digest a stored [`hash_api_key`] value stands for; `None` if it is not one.
pub fn digest_of_hash(hash: &str) -> Option<KeyDigest> {
    let bytes = hash.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

/// Whether `key` has the exact shape of a Morn API key. Lets the auth layer tell an API
/// key from a JWT in an `Authorization: Bearer` header, and reject junk before hashing.
pub fn looks_like_api_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() == API_KEY_LEN
        && key.starts_with(API_KEY_PREFIX)
        && bytes[PREFIX_LEN] == b'_'
        && bytes[API_KEY_PREFIX.len()..PREFIX_LEN]
            .iter()
            .all(u8::is_ascii_alphanumeric)
        && bytes[PREFIX_LEN + 1..]
            .iter()
            .all(u8::is_ascii_alphanumeric)
}

/// The visible prefix (`mk_` + 8 characters) of a well-formed key, else `None`.
pub fn prefix_of(key: &str) -> Option<&str> {
    if looks_like_api_key(key) {
        key.get(..PREFIX_LEN)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn format_is_mk_prefix_underscore_secret() {
        let generated = generate_api_key();
        let key = &generated.key;
        assert_eq!(key.len(), 44);
        let parts: Vec<&str> = key.split('_').collect();
        assert_eq!(parts.len(), 3, "{key:?}");
        assert_eq!(parts[0], "mk");
        assert_eq!(parts[1].len(), 8);
        assert_eq!(parts[2].len(), 32);
        assert!(
            parts[1]
                .chars()
                .chain(parts[2].chars())
                .all(|c| c.is_ascii_alphanumeric())
        );
        assert!(looks_like_api_key(key));
        assert_eq!(generated.prefix, format!("mk_{}", parts[1]));
        assert_eq!(generated.hash, hash_api_key(key));
    }

    #[test]
    fn digests_and_stored_hashes_agree() {
        let generated = generate_api_key();
        let digest = api_key_digest(&generated.key);
        assert_eq!(digest_of_hash(&generated.hash), Some(digest));
        assert_eq!(hex(&digest), generated.hash);
        assert_eq!(digest_of_hash(&generated.hash[1..]), None, "too short");
        assert_eq!(digest_of_hash(&generated.hash.to_uppercase()), None);
        assert_eq!(digest_of_hash(&"g".repeat(64)), None);
    }

    #[test]
    fn prefix_extraction() {
        let generated = generate_api_key();
        assert_eq!(prefix_of(&generated.key), Some(generated.prefix.as_str()));
        assert_eq!(
            prefix_of("mk_abcdefgh_0123456789abcdefghijABCDEFGHIJ01"),
            Some("mk_abcdefgh")
        );
        assert_eq!(prefix_of("mk_abcdefgh"), None);
        assert_eq!(prefix_of(""), None);
    }

    #[test]
    fn malformed_keys_are_recognised() {
        let good = "mk_abcdefgh_0123456789abcdefghijABCDEFGHIJ01";
        assert!(looks_like_api_key(good));
        for bad in [
            "",
            "mk_",
            "sk_abcdefgh_0123456789abcdefghijABCDEFGHIJ01",
            "mk_abcdefgh-0123456789abcdefghijABCDEFGHIJ01",
            "mk_abcdefgh_0123456789abcdefghijABCDEFGHIJ0",
            "mk_abcdefgh_0123456789abcdefghijABCDEFGHIJ012",
            "mk_abcd-fgh_0123456789abcdefghijABCDEFGHIJ01",
            "mk_abcdefgh_0123456789abcdefghijABCDEFGHIJ0é",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig",
        ] {
            assert!(!looks_like_api_key(bad), "{bad:?}");
            assert_eq!(prefix_of(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn keys_and_prefixes_are_unique_over_10k() {
        let keys: Vec<GeneratedKey> = (0..10_000).map(|_| generate_api_key()).collect();
        let full: HashSet<&str> = keys.iter().map(|k| k.key.as_str()).collect();
        let prefixes: HashSet<&str> = keys.iter().map(|k| k.prefix.as_str()).collect();
        let hashes: HashSet<&str> = keys.iter().map(|k| k.hash.as_str()).collect();
        assert_eq!(full.len(), 10_000);
        assert_eq!(prefixes.len(), 10_000);
        assert_eq!(hashes.len(), 10_000);
    }

    #[test]
    fn hash_is_stable_hex_sha256() {
        let key = "mk_abcdefgh_0123456789abcdefghijABCDEFGHIJ01";
        assert_eq!(hash_api_key(key), hash_api_key(key));
        assert_eq!(
            hash_api_key(key),
            "08acb45e11e9eeda866bd5bf6aa05df9d86dbb9e6828c8368ea9726580262b74"
        );
        assert_ne!(
            hash_api_key(key),
            hash_api_key("mk_abcdefgh_0123456789abcdefghijABCDEFGHIJ02")
        );
    }

    #[test]
    fn debug_never_shows_the_full_key() {
        let generated = generate_api_key();
        let debug = format!("{generated:?}");
        let secret_part = &generated.key[PREFIX_LEN + 1..];
        assert!(!debug.contains(secret_part), "{debug}");
        assert!(debug.contains(&generated.prefix));
    }
}
