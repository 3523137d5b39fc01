//! Security primitives for Morn's identity layer: password hashing, JWT access tokens,
//! refresh tokens, API keys and the credential vault.
//!
//! Pure functions and small types; no I/O except reading a master key file. The store
//! keeps only what this crate returns for storage (PHC strings, SHA-256 hex digests,
//! sealed ciphertexts); the values shown to users once (refresh tokens, API keys) are
//! never stored.
//!
//! Randomness comes from the operating system (`getrandom`). If the OS random source
//! fails, the generators panic: there is no safe way to carry on issuing credentials.

pub mod api_keys;
mod encoding;
pub mod error;
mod master_key;
pub mod password;
pub mod refresh;
pub mod secret;
pub mod tokens;
pub mod vault;

pub use api_keys::{
    GeneratedKey, KeyDigest, api_key_digest, digest_of_hash, generate_api_key, hash_api_key,
    looks_like_api_key, prefix_of,
};
pub use error::AuthError;
pub use password::{dummy_verify, hash_password, needs_rehash, validate_password, verify_password};
pub use refresh::{REFRESH_TTL_SECS, hash_token, new_refresh_token};
pub use secret::SecretString;
pub use tokens::{ACCESS_TTL_SECS, AccessClaims, ISSUER, JwtKeys};
pub use vault::{MasterKey, Sealed, Vault, derive_subkey, hint};
