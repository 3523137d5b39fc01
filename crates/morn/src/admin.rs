//! `morn admin ...` and `morn keys ...`: headless operation against the configured
//! store. Secrets (a bootstrap password, a new API key, a new master key) are printed
//! once to stdout and never logged.

use std::sync::Arc;

use anyhow::{Context, bail};
use morn_auth::{MasterKey, Vault};
use morn_store::{ApiKey, Organization, Page, Store, User, Workspace};

use crate::config::Settings;

/// Ids are time-ordered UUID v7; timestamps unix milliseconds.
fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn slug(name: &str) -> String {
    let s: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let s = s.trim_matches('-').to_owned();
    if s.is_empty() { "default".into() } else { s }
}

/// Creates the first organization, workspace and owner (with a generated password) and
/// an API key for the workspace. Refuses when an organization already exists.
pub async fn bootstrap(
    store: Arc<dyn Store>,
    org_name: &str,
    workspace_name: &str,
    email: &str,
) -> anyhow::Result<()> {
    let report = create_first_org(store, org_name, workspace_name, email).await?;
    print!("{report}");
    Ok(())
}

/// Whether the database has no organization yet.
pub async fn is_empty(store: &Arc<dyn Store>) -> anyhow::Result<bool> {
    Ok(store.list_orgs(Page::first(1)).await?.data.is_empty())
}

/// Creates the first organization, workspace, owner and key; returns the report with
/// the one-time secrets, for the caller to show once.
pub async fn create_first_org(
    store: Arc<dyn Store>,
    org_name: &str,
    workspace_name: &str,
    email: &str,
) -> anyhow::Result<String> {
    if !store.list_orgs(Page::first(1)).await?.data.is_empty() {
        bail!("an organization already exists: bootstrap runs once on an empty database");
    }
    let now = now_ms();
    let password = morn_auth::generate_api_key().key.replace("mk_", "pw_");
    let user = User {
        id: new_id(),
        email: email.trim().to_owned(),
        name: email.split('@').next().unwrap_or(email).to_owned(),
        password_hash: Some(morn_auth::hash_password(&password)?),
        is_active: true,
        created_at: now,
        updated_at: now,
    };
    store
        .create_user(&user)
        .await
        .context("cannot create the owner")?;
    let org = Organization {
        id: new_id(),
        name: org_name.to_owned(),
        slug: slug(org_name),
        created_at: now,
    };
    let workspace = Workspace {
        id: new_id(),
        org_id: org.id.clone(),
        name: workspace_name.to_owned(),
        slug: slug(workspace_name),
        created_at: now,
    };
    store
        .create_org_with_owner(&org, &workspace, &user.id)
        .await?;
    let (key, record) = new_key(
        &workspace.id,
        Some(&user.id),
        "bootstrap",
        Vec::new(),
        Vec::new(),
        None,
    );
    store.create_api_key(&record).await?;
    audit(
        &store,
        &org.id,
        Some(&workspace.id),
        "org.bootstrap",
        "org",
        &org.id,
    )
    .await?;
    Ok(format!(
        "organization  {} ({})\nworkspace     {} ({})\nowner         {} ({})\npassword      {password}\napi key       {key}\nThese secrets are shown once. Sign in and change the password.\n",
        org.name, org.id, workspace.name, workspace.id, user.email, user.id
    ))
}

/// A new key record and its full secret.
fn new_key(
    workspace_id: &str,
    user_id: Option<&str>,
    name: &str,
    scopes: Vec<String>,
    allowed_models: Vec<String>,
    expires_at: Option<i64>,
) -> (String, ApiKey) {
    let generated = morn_auth::generate_api_key();
    let record = ApiKey {
        id: new_id(),
        workspace_id: workspace_id.to_owned(),
        user_id: user_id.map(str::to_owned),
        name: name.to_owned(),
        prefix: generated.prefix.clone(),
        hash: generated.hash.clone(),
        scopes,
        allowed_models,
        metadata: serde_json::json!({}),
        expires_at,
        disabled: false,
        created_at: now_ms(),
        last_used_at: None,
        revoked_at: None,
        rotated_from: None,
        grace_until: None,
    };
    (generated.key, record)
}

async fn audit(
    store: &Arc<dyn Store>,
    org_id: &str,
    workspace_id: Option<&str>,
    action: &str,
    target_type: &str,
    target_id: &str,
) -> anyhow::Result<()> {
    let event = morn_store::AuditEvent {
        id: new_id(),
        org_id: org_id.to_owned(),
        workspace_id: workspace_id.map(str::to_owned),
        actor_type: "cli".into(),
        actor_id: whoami(),
        action: action.into(),
        target_type: target_type.into(),
        target_id: Some(target_id.to_owned()),
        ip: None,
        user_agent: Some("morn-cli".into()),
        details: serde_json::json!({}),
        created_at: now_ms(),
    };
    store.append_audit(&event).await?;
    Ok(())
}

fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| "operator".into())
}

/// `morn keys create`.
pub async fn create_key(
    store: Arc<dyn Store>,
    workspace_id: &str,
    name: &str,
    models: Vec<String>,
    scopes: Vec<String>,
    expires_in_days: Option<u32>,
) -> anyhow::Result<()> {
    let workspace = store
        .get_workspace(workspace_id)
        .await?
        .context("no such workspace")?;
    let expires_at = expires_in_days.map(|d| now_ms() + i64::from(d) * 86_400_000);
    let (key, record) = new_key(&workspace.id, None, name, scopes, models, expires_at);
    store.create_api_key(&record).await?;
    audit(
        &store,
        &workspace.org_id,
        Some(&workspace.id),
        "api_key.create",
        "api_key",
        &record.id,
    )
    .await?;
    println!("id      {}", record.id);
    println!("prefix  {}", record.prefix);
    println!("key     {key}");
    println!("The key is shown once.");
    Ok(())
}

/// `morn keys list`.
pub async fn list_keys(store: Arc<dyn Store>, workspace_id: &str) -> anyhow::Result<()> {
    let mut page = Page::first(200);
    loop {
        let batch = store.list_api_keys(workspace_id, page.clone()).await?;
        for k in &batch.data {
            let state = if k.revoked_at.is_some() {
                "revoked"
            } else if k.disabled {
                "disabled"
            } else {
                "active"
            };
            let models = if k.allowed_models.is_empty() {
                "*".to_owned()
            } else {
                k.allowed_models.join(",")
            };
            println!(
                "{}  {}  {:<8}  {}  models={models}",
                k.id, k.prefix, state, k.name
            );
        }
        match batch.next_after {
            Some(after) => page = Page::after(200, after),
            None => return Ok(()),
        }
    }
}

/// `morn keys revoke`.
pub async fn revoke_key(store: Arc<dyn Store>, key_id: &str) -> anyhow::Result<()> {
    let key = store.get_api_key(key_id).await?.context("no such key")?;
    let workspace = store
        .get_workspace(&key.workspace_id)
        .await?
        .context("the key's workspace is gone")?;
    store.revoke_api_key(key_id, now_ms()).await?;
    audit(
        &store,
        &workspace.org_id,
        Some(&workspace.id),
        "api_key.revoke",
        "api_key",
        key_id,
    )
    .await?;
    println!("revoked {key_id}; running servers stop accepting it within a second");
    Ok(())
}

/// `morn admin rotate-master-key`: re-encrypts every vault secret under a new key and
/// writes the new key where the old one came from (file), or prints it once (env).
pub async fn rotate_master_key(store: Arc<dyn Store>, settings: &Settings) -> anyhow::Result<()> {
    let old = crate::identity::master_key(settings)?;
    let (new, encoded) = MasterKey::generate();
    let vault = Vault::new(new, vec![old]);
    let mut moved = 0;
    for secret in store.list_all_secrets().await? {
        if secret.key_id == vault.current_key_id() {
            continue;
        }
        let aad = format!(
            "{}/{}/{}",
            secret.org_id,
            secret.workspace_id.as_deref().unwrap_or(""),
            secret.name
        );
        let sealed = morn_auth::Sealed {
            key_id: secret.key_id.clone(),
            nonce: secret.nonce.clone(),
            ciphertext: secret.ciphertext.clone(),
        };
        let resealed = vault
            .reseal(&sealed, &aad)
            .with_context(|| format!("cannot re-encrypt secret {}", secret.id))?;
        let update = morn_store::SecretCiphertext {
            ciphertext: resealed.ciphertext,
            nonce: resealed.nonce,
            key_id: resealed.key_id,
            updated_at: now_ms(),
        };
        store.update_secret_ciphertext(&secret.id, &update).await?;
        moved += 1;
    }
    if settings.vault_key.is_some() {
        println!(
            "re-encrypted {moved} secrets. New master key (shown once; set it as vault.master_key):"
        );
        println!("{encoded}");
        return Ok(());
    }
    let path = settings
        .vault_key_file
        .clone()
        .unwrap_or_else(|| settings.data_dir.join("master.key"));
    let backup = path.with_extension("key.old");
    std::fs::rename(&path, &backup)
        .with_context(|| format!("cannot move {} aside", path.display()))?;
    crate::identity::write_private(&path, &format!("{encoded}\n"))?;
    println!(
        "re-encrypted {moved} secrets; new key written to {} (old key kept as {})",
        path.display(),
        backup.display()
    );
    println!(
        "Restart servers to use it. Remove the old key once every replica runs with the new one."
    );
    Ok(())
}
