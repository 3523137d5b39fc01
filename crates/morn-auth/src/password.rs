//! Password hashing with Argon2id, the password policy, and a dummy verification path
//! so that login takes the same time whether or not the email exists.
//!
//! Parameters are OWASP's first Argon2id recommendation (m = 19 MiB, t = 2, p = 1).
//! They are written into each PHC string, so raising them later only affects new
//! hashes; [`needs_rehash`] tells the login path when to upgrade a stored hash.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use crate::{encoding::random_array, error::AuthError};

/// Memory cost in KiB (19 MiB).
pub const M_COST_KIB: u32 = 19_456;
/// Iterations.
pub const T_COST: u32 = 2;
/// Lanes.
pub const P_COST: u32 = 1;
/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password, in characters. Long enough for any passphrase or manager,
/// short enough that nobody can make the server hash megabytes per login attempt.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A well-formed PHC string with the current parameters and a random salt and output,
/// so no known password matches it. Verifying against it costs what a real
/// verification costs.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$yT4hHWUbr2MBCuBsHMDWvw$ZR4dcQXDLEkXAR7Np1+NqnaFWc0TE+kmgEqjxqVJq9I";

fn argon2() -> Result<Argon2<'static>, AuthError> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(|_| AuthError::Crypto)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with
/// a fresh 16-byte random salt. Does not apply the policy: call [`validate_password`]
/// first when the password is being chosen.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt: [u8; 16] = random_array();
    let hash = argon2()?
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|_| AuthError::Crypto)?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `phc`. A malformed `phc` is a mismatch.
/// Parameters are read from `phc`, so hashes made with older parameters still verify;
/// the comparison of the outputs is constant-time (in the `password-hash` crate).
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Costs as much as [`verify_password`] and always returns `false`. Call it when no user
/// has the submitted email, so response time does not reveal which emails exist:
///
/// ```
/// # let stored: Option<String> = None;
/// let ok = match &stored {
///     Some(phc) => morn_auth::verify_password("hunter22", phc),
///     None => morn_auth::dummy_verify("hunter22"),
/// };
/// assert!(!ok);
/// ```
pub fn dummy_verify(password: &str) -> bool {
    // Always false, but the work must really be done: the result is discarded only after.
    let _ = verify_password(password, DUMMY_PHC);
    false
}

/// Whether `phc` was made with other than the current algorithm or parameters, so the
/// login path should re-hash the (just verified) password and store the new hash.
pub fn needs_rehash(phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm != Algorithm::Argon2id.ident()
        || parsed.version != Some(Version::V0x13.into())
        || params.m_cost() != M_COST_KIB
        || params.t_cost() != T_COST
        || params.p_cost() != P_COST
}

/// Checks the password policy: 8 to 256 characters, not only whitespace. The error
/// message is meant for the user who typed the password.
///
/// No composition rules (digits, symbols): NIST SP 800-63B advises length over them.
pub fn validate_password(password: &str) -> Result<(), AuthError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AuthError::WeakPassword(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters long"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AuthError::WeakPassword(format!(
            "password must be at most {MAX_PASSWORD_CHARS} characters long"
        )));
    }
    if password.chars().all(char::is_whitespace) {
        return Err(AuthError::WeakPassword(
            "password must not be only whitespace".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify_round_trip() -> Result<(), AuthError> {
        let phc = hash_password("correct horse battery staple")?;
        assert!(verify_password("correct horse battery staple", &phc));
        assert!(!verify_password("correct horse battery stapl", &phc));
        assert!(!verify_password("", &phc));
        Ok(())
    }

    #[test]
    fn phc_string_is_argon2id_with_owasp_parameters() -> Result<(), AuthError> {
        let phc = hash_password("hunter2hunter2")?;
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("hunter2"));
        assert!(!needs_rehash(&phc));
        Ok(())
    }

    #[test]
    fn same_password_gets_different_salts() -> Result<(), AuthError> {
        let a = hash_password("same password")?;
        let b = hash_password("same password")?;
        assert_ne!(a, b);
        assert!(verify_password("same password", &a) && verify_password("same password", &b));
        Ok(())
    }

    #[test]
    fn malformed_phc_never_verifies() {
        assert!(!verify_password("anything", ""));
        assert!(!verify_password("anything", "not a phc string"));
        assert!(!verify_password(
            "anything",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$"
        ));
    }

    #[test]
    fn older_parameters_still_verify_but_need_rehash() -> Result<(), AuthError> {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).map_err(|_| AuthError::Crypto)?,
        );
        let phc = weak
            .hash_password_with_salt(b"old password", b"0123456789abcdef")
            .map_err(|_| AuthError::Crypto)?
            .to_string();
        assert!(verify_password("old password", &phc));
        assert!(needs_rehash(&phc));
        assert!(needs_rehash("garbage"));
        Ok(())
    }

    #[test]
    fn dummy_hash_uses_current_parameters_and_never_matches() {
        assert!(
            !needs_rehash(DUMMY_PHC),
            "regenerate DUMMY_PHC with hash_password"
        );
        assert!(PasswordHash::new(DUMMY_PHC).is_ok());
        assert!(!dummy_verify("password"));
        assert!(!dummy_verify(""));
    }

    #[test]
    fn policy_accepts_reasonable_passwords() {
        assert_eq!(validate_password("12345678"), Ok(()));
        assert_eq!(validate_password("  spaced out passphrase  "), Ok(()));
        assert_eq!(validate_password(&"x".repeat(256)), Ok(()));
        // Characters, not bytes: 8 multi-byte characters are enough.
        assert_eq!(validate_password("éééééééé"), Ok(()));
    }

    #[test]
    fn policy_rejects_with_clear_messages() {
        let msg = |p: &str| match validate_password(p) {
            Err(AuthError::WeakPassword(m)) => m,
            other => panic!("expected WeakPassword, got {other:?}"),
        };
        assert_eq!(
            msg("1234567"),
            "password must be at least 8 characters long"
        );
        assert_eq!(msg(""), "password must be at least 8 characters long");
        assert_eq!(
            msg(&"x".repeat(257)),
            "password must be at most 256 characters long"
        );
        assert_eq!(msg("        \t "), "password must not be only whitespace");
    }
}
