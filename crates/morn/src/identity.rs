//! Startup steps for identity: open the store the config names, load (or create) the
//! vault master key, and build the shared identity services.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use morn_auth::{JwtKeys, MasterKey, Vault};
use morn_server::identity::{Identity, KeyCache};
use morn_store::{PgStore, SqliteStore, Store};

use crate::config::Settings;

/// The store: PostgreSQL when `database.url` is set, else SQLite in the data dir.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    match &settings.database_url {
        Some(url) => {
            let store = PgStore::connect(url.expose(), settings.database_max_connections)
                .await
                .context("cannot connect to PostgreSQL (database.url)")?;
            Ok(Arc::new(store))
        }
        None => {
            let store = SqliteStore::open(&settings.data_dir)
                .await
                .with_context(|| {
                    format!(
                        "cannot open the database in {}",
                        settings.data_dir.display()
                    )
                })?;
            Ok(Arc::new(store))
        }
    }
}

/// The vault master key: from config (environment), from a file, or from
/// `<data_dir>/master.key`, created on first start with owner-only permissions.
pub fn master_key(settings: &Settings) -> anyhow::Result<MasterKey> {
    if let Some(key) = &settings.vault_key {
        return MasterKey::from_base64(key.expose())
            .map_err(|e| anyhow::anyhow!("vault.master_key: {e}"));
    }
    let path = settings
        .vault_key_file
        .clone()
        .unwrap_or_else(|| default_key_path(&settings.data_dir));
    if path.exists() {
        return MasterKey::from_file(&path).map_err(|e| anyhow::anyhow!("{e}"));
    }
    if settings.vault_key_file.is_some() {
        anyhow::bail!("vault.master_key_file {} does not exist", path.display());
    }
    create_key_file(&path)
}

fn default_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("master.key")
}

fn create_key_file(path: &Path) -> anyhow::Result<MasterKey> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let (key, encoded) = MasterKey::generate();
    write_private(path, &format!("{encoded}\n"))?;
    tracing::warn!(path = %path.display(), "created a new vault master key; back it up, stored credentials cannot be read without it");
    Ok(key)
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// Store, vault, token keys and a warm API key cache.
pub async fn build_identity(
    settings: &Settings,
    store: Arc<dyn Store>,
) -> anyhow::Result<Arc<Identity>> {
    let key = master_key(settings)?;
    let jwt = JwtKeys::from_master(&key);
    let previous = settings
        .vault_previous
        .iter()
        .map(|s| {
            MasterKey::from_base64(s.expose())
                .map_err(|e| anyhow::anyhow!("vault.previous_keys: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let vault = Vault::new(key, previous);
    let keys = Arc::new(KeyCache::new());
    let loaded = keys
        .refresh(store.as_ref(), morn_server::identity::key_cache_now())
        .await
        .context("cannot load API keys")?;
    tracing::info!(
        api_keys = loaded,
        backend = store.backend_name(),
        "identity ready"
    );
    Ok(Arc::new(Identity {
        store,
        vault: Arc::new(vault),
        jwt: Arc::new(jwt),
        keys,
        allow_signup: settings.allow_signup,
    }))
}
