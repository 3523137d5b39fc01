//! The store suite: every case is an `async fn(Arc<dyn Store>) -> anyhow::Result<()>`
//! written once; `store_suite!` instantiates each for SQLite and for PostgreSQL, each
//! run on a fresh database.

pub mod audit;
pub mod catalog;
pub mod harness;
pub mod keys;
pub mod members;
pub mod sessions;
pub mod tenancy;
pub mod upgrade;
pub mod users;
pub mod vault;

use std::fmt::Debug;
use std::sync::Arc;

use anyhow::{Context, bail};
use morn_store::prelude::*;
use morn_store::{ApiKey, Organization, Page, Paged, StoreError, User, VaultSecret, Workspace};
use serde_json::json;

pub type Shared = Arc<dyn Store>;

/// Generates `mod sqlite` and `mod postgres`, each with one test per listed case.
macro_rules! store_suite {
    ($($module:ident :: $case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() -> anyhow::Result<()> {
                    $crate::suite::harness::on_sqlite($crate::suite::$module::$case).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() -> anyhow::Result<()> {
                    $crate::suite::harness::on_postgres($crate::suite::$module::$case).await
                }
            )*
        }
    };
}
pub(crate) use store_suite;

/// A fresh time-ordered id.
pub fn id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A short unique suffix for slugs, emails and names.
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

pub async fn new_org(store: &Shared) -> anyhow::Result<Organization> {
    let org = Organization {
        id: id(),
        name: "Acme".into(),
        slug: format!("acme-{}", unique()),
        created_at: 1_000,
    };
    store.create_org(&org).await?;
    Ok(org)
}

pub async fn new_workspace(store: &Shared, org: &Organization) -> anyhow::Result<Workspace> {
    let ws = Workspace {
        id: id(),
        org_id: org.id.clone(),
        name: "Research".into(),
        slug: format!("ws-{}", unique()),
        created_at: 2_000,
    };
    store.create_workspace(&ws).await?;
    Ok(ws)
}

pub fn user_record() -> User {
    User {
        id: id(),
        email: format!("user-{}@example.com", unique()),
        name: "Ada".into(),
        password_hash: Some("$argon2id$v=19$stub".into()),
        is_active: true,
        created_at: 3_000,
        updated_at: 3_000,
    }
}

pub async fn new_user(store: &Shared) -> anyhow::Result<User> {
    let user = user_record();
    store.create_user(&user).await?;
    Ok(user)
}

pub fn key_record(workspace_id: &str) -> ApiKey {
    let suffix = unique();
    ApiKey {
        id: id(),
        workspace_id: workspace_id.to_owned(),
        user_id: None,
        name: "ci".into(),
        prefix: format!("mk-{suffix}"),
        hash: format!("{suffix}{}", "ab".repeat(26)),
        scopes: vec!["chat".into(), "embeddings".into()],
        allowed_models: vec!["gpt-4o".into()],
        metadata: json!({"team": "search", "tags": ["a", "b"], "n": 3}),
        expires_at: None,
        disabled: false,
        created_at: 5_000,
        last_used_at: None,
        revoked_at: None,
        rotated_from: None,
        grace_until: None,
    }
}

pub fn secret_record(org_id: &str, workspace_id: Option<&str>, name: &str) -> VaultSecret {
    VaultSecret {
        id: id(),
        org_id: org_id.to_owned(),
        workspace_id: workspace_id.map(str::to_owned),
        name: name.to_owned(),
        ciphertext: vec![0, 1, 2, 255, 254],
        nonce: vec![9; 12],
        key_id: "k1".into(),
        hint: "sk-...f3a9".into(),
        created_at: 7_000,
        updated_at: 7_000,
    }
}

/// Asserts a `Conflict { what }`.
pub fn expect_conflict<T: Debug>(result: Result<T, StoreError>, what: &str) -> anyhow::Result<()> {
    match result {
        Err(StoreError::Conflict { what: got }) if got == what => Ok(()),
        other => bail!("expected Conflict {{ what: {what:?} }}, got {other:?}"),
    }
}

/// Asserts a `NotFound`.
pub fn expect_not_found<T: Debug>(result: Result<T, StoreError>) -> anyhow::Result<()> {
    match result {
        Err(StoreError::NotFound { .. }) => Ok(()),
        other => bail!("expected NotFound, got {other:?}"),
    }
}

/// Asserts a `Reference` (missing parent or row still in use).
pub fn expect_reference<T: Debug>(result: Result<T, StoreError>) -> anyhow::Result<()> {
    match result {
        Err(StoreError::Reference { .. }) => Ok(()),
        other => bail!("expected Reference, got {other:?}"),
    }
}

/// Walks every page of a list with `limit` per page; checks that only the last page
/// has no `next_after` and that no page is over the limit. Returns the ids in order.
pub async fn collect_pages<T, F, Fut>(
    limit: u32,
    id_of: impl Fn(&T) -> String,
    mut fetch: F,
) -> anyhow::Result<(Vec<String>, usize)>
where
    F: FnMut(Page) -> Fut,
    Fut: Future<Output = Result<Paged<T>, StoreError>>,
{
    let mut ids = Vec::new();
    let mut page = Page::first(limit);
    let mut pages = 0;
    loop {
        let got = fetch(page).await?;
        pages += 1;
        anyhow::ensure!(got.data.len() <= limit as usize, "page over its limit");
        ids.extend(got.data.iter().map(&id_of));
        match got.next_after {
            Some(after) => {
                anyhow::ensure!(got.data.len() == limit as usize, "short page with a next");
                page = Page::after(limit, after);
            }
            None => break,
        }
        anyhow::ensure!(pages < 100, "pagination does not end");
    }
    Ok((ids, pages))
}

/// Unwraps an `Option` in a test with a message.
pub fn found<T>(value: Option<T>, what: &str) -> anyhow::Result<T> {
    value.with_context(|| format!("{what} not found"))
}
pub mod policy;
pub mod usage;
