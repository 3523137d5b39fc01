//! The credential vault: provider API keys and other secrets encrypted at rest with
//! AES-256-GCM under a key derived from the master key.
//!
//! Each sealed secret records the id of the master key that sealed it, a 12-byte random
//! nonce and the ciphertext (with its 16-byte tag). The associated data names the
//! secret's owner (for example `"org/ws/name"`): it is authenticated, not stored, so a
//! ciphertext copied into another row fails to open there.
//!
//! Rotation: configure the new key as current and the old one as previous; everything
//! still opens, and [`Vault::reseal`] moves each secret to the current key
//! (`morn admin rotate-master-key`), after which the previous key can be dropped.
//! Random 96-bit nonces are safe far beyond the number of secrets a vault will ever
//! hold per key (NIST's limit is 2^32 encryptions per key).

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};

pub use crate::master_key::{MASTER_KEY_LEN, MasterKey, derive_subkey};
use crate::{encoding::random_array, error::AuthError, secret::SecretString};

/// Purpose string for deriving the AES-256-GCM key from the master key.
pub const VAULT_SUBKEY_PURPOSE: &str = "morn/vault/aes-256-gcm";
/// Nonce length for AES-GCM.
pub const NONCE_LEN: usize = 12;

/// An encrypted secret as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// [`MasterKey::key_id`] of the key that sealed it.
    pub key_id: String,
    /// 12 random bytes.
    pub nonce: Vec<u8>,
    /// AES-256-GCM ciphertext followed by the 16-byte tag.
    pub ciphertext: Vec<u8>,
}

/// Seals and opens secrets with the current master key; opens with previous keys too.
#[derive(Debug, Clone)]
pub struct Vault {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl Vault {
    /// A vault that seals with `current` and also opens what `previous` keys sealed.
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        Self { current, previous }
    }

    /// Id of the key new secrets are sealed with; a secret with another `key_id` is due
    /// for [`Vault::reseal`].
    pub fn current_key_id(&self) -> String {
        self.current.key_id()
    }

    /// Encrypts `plaintext` bound to `aad` (the owner, e.g. `"org/ws/name"`).
    ///
    /// Fails only if the plaintext is beyond AES-GCM's limit (64 GiB).
    pub fn seal(&self, plaintext: &str, aad: &str) -> Result<Sealed, AuthError> {
        let nonce: [u8; NONCE_LEN] = random_array();
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: aad.as_bytes(),
        };
        let ciphertext = cipher(&self.current)
            .encrypt(&nonce.into(), payload)
            .map_err(|_| AuthError::Crypto)?;
        Ok(Sealed {
            key_id: self.current.key_id(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Decrypts `sealed` with whichever configured key sealed it. Fails with
    /// [`AuthError::UnknownKey`] if that key is not configured, and with
    /// [`AuthError::Decrypt`] for a wrong `aad` or altered data.
    pub fn open(&self, sealed: &Sealed, aad: &str) -> Result<SecretString, AuthError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.key_id() == sealed.key_id)
            .ok_or_else(|| AuthError::UnknownKey(sealed.key_id.clone()))?;
        let nonce: [u8; NONCE_LEN] = sealed
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| AuthError::Decrypt)?;
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad: aad.as_bytes(),
        };
        let plaintext = cipher(key)
            .decrypt(&nonce.into(), payload)
            .map_err(|_| AuthError::Decrypt)?;
        String::from_utf8(plaintext)
            .map(SecretString::from)
            .map_err(|_| AuthError::Decrypt)
    }

    /// Opens `sealed` with whichever key sealed it and seals it again with the current
    /// key and a fresh nonce, for the same `aad`.
    pub fn reseal(&self, sealed: &Sealed, aad: &str) -> Result<Sealed, AuthError> {
        let secret = self.open(sealed, aad)?;
        self.seal(secret.expose(), aad)
    }
}

fn cipher(key: &MasterKey) -> Aes256Gcm {
    Aes256Gcm::new(&derive_subkey(key, VAULT_SUBKEY_PURPOSE).into())
}

/// What may be shown of a stored secret: `"…"` plus its last 4 characters, or `"…"`
/// alone when the secret is shorter than 12 characters, so short secrets leak nothing.
pub fn hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return "…".to_owned();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::new(MasterKey::generate().0, Vec::new())
    }

    #[test]
    fn seal_then_open_round_trip() -> Result<(), AuthError> {
        let vault = vault();
        let sealed = vault.seal("sk-live-0123456789", "org1/ws1/openai")?;
        assert_eq!(sealed.key_id, vault.current_key_id());
        assert_eq!(sealed.nonce.len(), 12);
        assert_eq!(sealed.ciphertext.len(), "sk-live-0123456789".len() + 16);
        let ct = String::from_utf8_lossy(&sealed.ciphertext);
        assert!(!ct.contains("sk-live"));
        assert_eq!(
            vault.open(&sealed, "org1/ws1/openai")?.expose(),
            "sk-live-0123456789"
        );
        assert_eq!(vault.open(&vault.seal("", "a")?, "a")?.expose(), "");
        Ok(())
    }

    #[test]
    fn same_plaintext_seals_differently() -> Result<(), AuthError> {
        let vault = vault();
        let a = vault.seal("secret", "o")?;
        let b = vault.seal("secret", "o")?;
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
        Ok(())
    }

    #[test]
    fn wrong_aad_fails() -> Result<(), AuthError> {
        let vault = vault();
        let sealed = vault.seal("sk-123", "org1/ws1/openai")?;
        assert_eq!(
            vault.open(&sealed, "org2/ws1/openai"),
            Err(AuthError::Decrypt)
        );
        assert_eq!(vault.open(&sealed, ""), Err(AuthError::Decrypt));
        Ok(())
    }

    #[test]
    fn tampered_data_fails() -> Result<(), AuthError> {
        let vault = vault();
        let sealed = vault.seal("sk-123", "o")?;
        for i in 0..sealed.ciphertext.len() {
            let mut bad = sealed.clone();
            bad.ciphertext[i] ^= 0x01;
            assert_eq!(vault.open(&bad, "o"), Err(AuthError::Decrypt), "byte {i}");
        }
        let mut bad = sealed.clone();
        bad.nonce[0] ^= 0x01;
        assert_eq!(vault.open(&bad, "o"), Err(AuthError::Decrypt));
        let mut bad = sealed.clone();
        bad.nonce.pop();
        assert_eq!(vault.open(&bad, "o"), Err(AuthError::Decrypt));
        let mut bad = sealed;
        bad.ciphertext.truncate(4);
        assert_eq!(vault.open(&bad, "o"), Err(AuthError::Decrypt));
        Ok(())
    }

    #[test]
    fn previous_key_opens_and_reseal_moves_to_current() -> Result<(), AuthError> {
        let (old, _) = MasterKey::generate();
        let (new, _) = MasterKey::generate();
        let sealed_old = Vault::new(old.clone(), Vec::new()).seal("sk-old", "o/w/n")?;
        assert_eq!(sealed_old.key_id, old.key_id());

        let rotated = Vault::new(new.clone(), vec![old]);
        assert_eq!(rotated.open(&sealed_old, "o/w/n")?.expose(), "sk-old");
        let resealed = rotated.reseal(&sealed_old, "o/w/n")?;
        assert_eq!(resealed.key_id, new.key_id());
        assert_ne!(resealed.key_id, sealed_old.key_id);

        // After dropping the old key, the resealed secret opens and the old one does not.
        let only_new = Vault::new(new, Vec::new());
        assert_eq!(only_new.open(&resealed, "o/w/n")?.expose(), "sk-old");
        assert_eq!(
            only_new.open(&sealed_old, "o/w/n"),
            Err(AuthError::UnknownKey(sealed_old.key_id.clone()))
        );
        assert_eq!(
            rotated.reseal(&sealed_old, "other"),
            Err(AuthError::Decrypt)
        );
        Ok(())
    }

    #[test]
    fn another_master_key_cannot_open_even_with_matching_id() -> Result<(), AuthError> {
        let sealed = vault().seal("sk", "o")?;
        let other = vault();
        let relabelled = Sealed {
            key_id: other.current_key_id(),
            ..sealed
        };
        assert_eq!(other.open(&relabelled, "o"), Err(AuthError::Decrypt));
        Ok(())
    }

    #[test]
    fn vault_and_opened_secret_debug_are_redacted() -> Result<(), AuthError> {
        let vault = vault();
        let opened = vault.open(&vault.seal("sk-visible-value", "o")?, "o")?;
        let debug = format!("{vault:?} {opened:?} {opened}");
        assert!(!debug.contains("sk-visible-value"), "{debug}");
        assert!(debug.contains(&vault.current_key_id()));
        Ok(())
    }

    #[test]
    fn hint_never_reveals_short_secrets() {
        assert_eq!(hint(""), "…");
        assert_eq!(hint("abc"), "…");
        assert_eq!(hint("12345678901"), "…");
        assert_eq!(hint("123456789012"), "…9012");
        assert_eq!(hint("sk-proj-abcdefghijklmnop"), "…mnop");
        assert_eq!(hint("ééééééééééééxyzé"), "…xyzé");
    }
}
