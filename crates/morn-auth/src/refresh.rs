//! Refresh tokens: opaque random strings, shown to the client once; only their SHA-256
//! is stored, so a leaked database does not hand out sessions.
//!
//! Format: `mr_` + 32 random bytes in unpadded base64url (43 characters). SHA-256 rather
//! than a password hash because the token has 256 bits of entropy: nothing to brute
//! force, and the lookup by hash must be one indexed query.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::encoding::{random_array, sha256_hex};

/// Lifetime of a refresh token: 7 days.
pub const REFRESH_TTL_SECS: i64 = 7 * 24 * 3600;
/// Prefix of every refresh token, so it is recognisable in logs and secret scanners.
pub const REFRESH_PREFIX: &str = "mr_";

/// A new refresh token: `(token for the client, hex SHA-256 to store)`.
pub fn new_refresh_token() -> (String, String) {
    let bytes: [u8; 32] = random_array();
    let token = format!("{REFRESH_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_token(&token);
    (token, hash)
}

/// Hex SHA-256 of the whole token (prefix included), as stored.
pub fn hash_token(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn token_format_and_hash() {
        let (token, hash) = new_refresh_token();
        assert!(token.starts_with("mr_"), "{token}");
        assert_eq!(token.len(), 3 + 43);
        assert!(
            token[3..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(hash.len(), 64);
        assert!(
            hash.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(hash_token(&token), hash);
        assert!(!hash.contains(&token[3..]));
    }

    #[test]
    fn tokens_are_unique_and_hash_is_stable() {
        let tokens: HashSet<String> = (0..1000).map(|_| new_refresh_token().0).collect();
        assert_eq!(tokens.len(), 1000);
        // Stable across processes and releases: the store looks tokens up by this value.
        assert_eq!(
            hash_token("mr_example"),
            "f9f66377d04f5e9a44d81191ea80a9988f61231a6e2a1c8e0cbae6317af4875e"
        );
        assert_ne!(hash_token("mr_a"), hash_token("mr_b"));
    }
}
