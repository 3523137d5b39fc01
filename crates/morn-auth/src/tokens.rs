//! JWT access tokens (HS256): short-lived, stateless proof of a logged-in session.
//!
//! An access token names the user (`sub`) and the session (`sid`, the refresh-token
//! family), so revoking a session can also be checked cheaply against a deny list of
//! session ids until the token's short lifetime runs out.
//!
//! Only HS256 is accepted: the algorithm is pinned on verification, so a token with
//! `alg: none` or another algorithm is rejected whatever its header says. Expiry is
//! checked here against a caller-supplied clock with zero leeway, instead of the
//! library's own wall-clock check, so tests control time.

use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::{error::AuthError, vault::MasterKey};

/// Lifetime of an access token: 15 minutes.
pub const ACCESS_TTL_SECS: i64 = 900;
/// The `iss` claim of every token Morn issues and accepts.
pub const ISSUER: &str = "morn";
/// Purpose string for deriving the signing secret from the master key.
pub const JWT_SUBKEY_PURPOSE: &str = "morn/jwt/hs256";

/// Claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// User id.
    pub sub: String,
    /// Session id: the refresh-token family this token was issued under.
    pub sid: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds; the token is valid while `now < exp`.
    pub exp: i64,
    /// Issuer; always [`ISSUER`].
    pub iss: String,
}

impl AccessClaims {
    /// Claims for `user_id` in `session_id`, issued at `now_unix`, valid for
    /// [`ACCESS_TTL_SECS`].
    pub fn new(user_id: impl Into<String>, session_id: impl Into<String>, now_unix: i64) -> Self {
        Self {
            sub: user_id.into(),
            sid: session_id.into(),
            iat: now_unix,
            exp: now_unix.saturating_add(ACCESS_TTL_SECS),
            iss: ISSUER.to_owned(),
        }
    }
}

/// Signing and verification keys for access tokens.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    /// Keys from a shared HS256 secret (use at least 32 random bytes).
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// Keys derived from the master key, so one configured key rules all. Rotating the
    /// master key therefore logs everyone out of their access tokens (at most
    /// [`ACCESS_TTL_SECS`] of validity lost; refresh tokens are unaffected).
    pub fn from_master(master: &MasterKey) -> Self {
        Self::from_secret(&crate::vault::derive_subkey(master, JWT_SUBKEY_PURPOSE))
    }

    /// Signs `claims` as an HS256 JWT.
    pub fn issue(&self, claims: &AccessClaims) -> Result<String, AuthError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|_| AuthError::Crypto)
    }

    /// Verifies signature, algorithm, issuer and expiry (`now_unix < exp`, no leeway).
    pub fn verify(&self, token: &str, now_unix: i64) -> Result<AccessClaims, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
        validation.set_issuer(&[ISSUER]);
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .map_err(|_| AuthError::InvalidToken)?;
        if now_unix >= data.claims.exp {
            return Err(AuthError::Expired);
        }
        Ok(data.claims)
    }
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The library's `DecodingKey` Debug prints the secret bytes.
        f.write_str("JwtKeys([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

    use super::*;

    const NOW: i64 = 1_750_000_000;

    fn keys() -> JwtKeys {
        JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn issue_then_verify_round_trip() -> Result<(), AuthError> {
        let claims = AccessClaims::new("user-1", "sess-1", NOW);
        let token = keys().issue(&claims)?;
        assert_eq!(token.split('.').count(), 3);
        let got = keys().verify(&token, NOW)?;
        assert_eq!(got, claims);
        assert_eq!(got.exp - got.iat, ACCESS_TTL_SECS);
        assert_eq!(got.iss, "morn");
        Ok(())
    }

    #[test]
    fn expiry_is_exact_with_zero_leeway() -> Result<(), AuthError> {
        let claims = AccessClaims::new("u", "s", NOW);
        let token = keys().issue(&claims)?;
        assert!(keys().verify(&token, claims.exp - 1).is_ok());
        assert_eq!(keys().verify(&token, claims.exp), Err(AuthError::Expired));
        assert_eq!(
            keys().verify(&token, claims.exp + 3600),
            Err(AuthError::Expired)
        );
        Ok(())
    }

    #[test]
    fn tampered_signature_is_rejected() -> Result<(), AuthError> {
        let token = keys().issue(&AccessClaims::new("u", "s", NOW))?;
        let (head, sig) = token.rsplit_once('.').ok_or(AuthError::InvalidToken)?;
        let mut sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| AuthError::InvalidToken)?;
        sig[0] ^= 1;
        let forged = format!("{head}.{}", URL_SAFE_NO_PAD.encode(sig));
        assert_eq!(keys().verify(&forged, NOW), Err(AuthError::InvalidToken));
        Ok(())
    }

    #[test]
    fn tampered_claims_are_rejected() -> Result<(), AuthError> {
        let token = keys().issue(&AccessClaims::new("user-1", "s", NOW))?;
        let parts: Vec<&str> = token.split('.').collect();
        let forged_claims = AccessClaims::new("admin", "s", NOW);
        let body = serde_json::to_vec(&forged_claims).map_err(|_| AuthError::Crypto)?;
        let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(body), parts[2]);
        assert_eq!(keys().verify(&forged, NOW), Err(AuthError::InvalidToken));
        Ok(())
    }

    #[test]
    fn wrong_key_is_rejected() -> Result<(), AuthError> {
        let token = keys().issue(&AccessClaims::new("u", "s", NOW))?;
        let other = JwtKeys::from_secret(b"another secret of thirty-two b..");
        assert_eq!(other.verify(&token, NOW), Err(AuthError::InvalidToken));
        Ok(())
    }

    #[test]
    fn alg_none_is_rejected() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD
            .encode(br#"{"sub":"admin","sid":"s","iat":1750000000,"exp":1750000900,"iss":"morn"}"#);
        for token in [format!("{header}.{claims}."), format!("{header}.{claims}")] {
            assert_eq!(keys().verify(&token, NOW), Err(AuthError::InvalidToken));
        }
    }

    #[test]
    fn other_algorithm_with_same_secret_is_rejected() -> Result<(), AuthError> {
        let secret = b"0123456789abcdef0123456789abcdef";
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &AccessClaims::new("u", "s", NOW),
            &EncodingKey::from_secret(secret),
        )
        .map_err(|_| AuthError::Crypto)?;
        assert_eq!(keys().verify(&hs512, NOW), Err(AuthError::InvalidToken));
        Ok(())
    }

    #[test]
    fn wrong_issuer_and_garbage_are_rejected() -> Result<(), AuthError> {
        let mut claims = AccessClaims::new("u", "s", NOW);
        claims.iss = "someone-else".to_owned();
        let token = keys().issue(&claims)?;
        assert_eq!(keys().verify(&token, NOW), Err(AuthError::InvalidToken));
        for junk in ["", "a.b.c", "not-a-jwt", "mk_abc"] {
            assert_eq!(keys().verify(junk, NOW), Err(AuthError::InvalidToken));
        }
        Ok(())
    }

    #[test]
    fn master_derived_keys_work_and_debug_is_redacted() -> Result<(), AuthError> {
        let (master, _) = MasterKey::generate();
        let keys = JwtKeys::from_master(&master);
        let token = keys.issue(&AccessClaims::new("u", "s", NOW))?;
        assert!(JwtKeys::from_master(&master).verify(&token, NOW).is_ok());
        let (other, _) = MasterKey::generate();
        assert!(JwtKeys::from_master(&other).verify(&token, NOW).is_err());
        let secret = b"visible-secret-bytes-0123456789!";
        let debug = format!("{:?}", JwtKeys::from_secret(secret));
        assert_eq!(debug, "JwtKeys([redacted])");
        Ok(())
    }
}
