//! User accounts as the platform shows and creates them, and password hashing off the
//! async runtime (Argon2 takes tens of milliseconds of CPU by design).

use morn_store::User;
use serde::Serialize;

use super::error::{PResult, PlatformError};
use super::extract::{new_id, now_ms};
use crate::state::Shared;

/// A user as the API shows it: never the password hash.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    id: String,
    object: &'static str,
    email: String,
    name: String,
    is_active: bool,
    created_at: i64,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            object: "user",
            email: user.email,
            name: user.name,
            is_active: user.is_active,
            created_at: user.created_at,
        }
    }
}

/// Checks the policy, then hashes on a blocking thread.
pub async fn hash_password(password: String) -> PResult<String> {
    morn_auth::validate_password(&password)?;
    tokio::task::spawn_blocking(move || morn_auth::hash_password(&password))
        .await
        .map_err(PlatformError::internal)?
        .map_err(PlatformError::from)
}

/// Whether `password` matches `hash`; without a hash, burns the same time and says no.
pub async fn verify_password(password: String, hash: Option<String>) -> PResult<bool> {
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => morn_auth::verify_password(&password, &hash),
        None => {
            morn_auth::dummy_verify(&password);
            false
        }
    })
    .await
    .map_err(PlatformError::internal)
}

/// Validates and stores a new active user.
pub async fn new_user(state: &Shared, email: &str, name: &str, password: String) -> PResult<User> {
    let email = email.trim();
    if email.len() > 254 || !is_email(email) {
        return Err(PlatformError::invalid(
            "email",
            "This is not a valid email address.",
        ));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(PlatformError::invalid(
            "name",
            "The name must have 1 to 200 characters.",
        ));
    }
    let hash = hash_password(password).await?;
    let now = now_ms();
    let user = User {
        id: new_id(),
        email: email.to_lowercase(),
        name: name.to_owned(),
        password_hash: Some(hash),
        is_active: true,
        created_at: now,
        updated_at: now,
    };
    state.identity.store.create_user(&user).await?;
    Ok(user)
}

fn is_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn emails() {
        assert!(super::is_email("a@b.co"));
        for bad in ["", "a", "@b.co", "a@b", "a b@c.de", "a@b@c.de", "a@.de"] {
            assert!(!super::is_email(bad), "{bad}");
        }
    }
}
