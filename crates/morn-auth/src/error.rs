//! The crate's one error type. Every message is safe to show to a user or write to a
//! log: none of them carries a secret, a key or a token.

/// What can go wrong in an authentication primitive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The token is malformed, has a bad signature, a wrong algorithm or wrong claims.
    #[error("invalid token")]
    InvalidToken,
    /// The token was valid but its `exp` has passed.
    #[error("token expired")]
    Expired,
    /// The password does not meet the policy; the message says why.
    #[error("{0}")]
    WeakPassword(String),
    /// A cryptographic primitive failed (for example hashing or signing); details are
    /// deliberately not carried.
    #[error("cryptographic operation failed")]
    Crypto,
    /// A sealed secret could not be decrypted: wrong key, wrong owner (associated data),
    /// or the ciphertext was altered.
    #[error("secret could not be decrypted (wrong key, wrong owner or tampered data)")]
    Decrypt,
    /// A sealed secret names a master key that is neither current nor previous.
    #[error("secret was sealed with master key {0}, which is not configured")]
    UnknownKey(String),
    /// The master key could not be loaded; the message says why (never the key itself).
    #[error("invalid master key: {0}")]
    InvalidMasterKey(String),
}
