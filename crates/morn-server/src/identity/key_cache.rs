//! API keys in memory, so authenticating a request never touches the database.
//!
//! The cache maps key hashes to what authentication needs. It is filled from the store
//! at start and refreshed in the background every `refresh` interval (default 500 ms),
//! so a key revoked on any replica stops working within one interval plus the query
//! time, well under a second; the replica that revokes a key also drops it at once. If
//! the database is unreachable, the last good set is kept: an outage does not turn
//! valid keys into 401s (revocations during the outage apply once it is back).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use morn_auth::{KeyDigest, digest_of_hash};
use morn_store::{ApiKey, Store};

/// What authentication needs to know about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedKey {
    pub id: String,
    /// The organization of the key's workspace.
    pub org_id: String,
    pub workspace_id: String,
    pub user_id: Option<String>,
    pub name: String,
    pub scopes: Vec<String>,
    pub allowed_models: Vec<String>,
    pub expires_at: Option<i64>,
    pub disabled: bool,
    /// After a rotation: the old key works until then.
    pub grace_until: Option<i64>,
}

impl CachedKey {
    fn from_record(key: &ApiKey, org_id: &str) -> Self {
        Self {
            id: key.id.clone(),
            org_id: org_id.to_owned(),
            workspace_id: key.workspace_id.clone(),
            user_id: key.user_id.clone(),
            name: key.name.clone(),
            scopes: key.scopes.clone(),
            allowed_models: key.allowed_models.clone(),
            expires_at: key.expires_at,
            disabled: key.disabled,
            grace_until: key.grace_until,
        }
    }

    /// Whether the key may be used at `now_ms`.
    pub fn usable_at(&self, now_ms: i64) -> bool {
        !self.disabled
            && self.expires_at.is_none_or(|t| now_ms < t)
            && self.grace_until.is_none_or(|t| now_ms < t)
    }
}

/// Key digest → key. foldhash, not SipHash: the digests are SHA-256 outputs, which a
/// caller cannot steer into collisions without knowing the keys.
type Map = HashMap<KeyDigest, Arc<CachedKey>, foldhash::fast::RandomState>;

/// Key digest → key.
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: RwLock<Arc<Map>>,
}

impl KeyCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The key with this digest, if known and present.
    pub fn get(&self, digest: &KeyDigest) -> Option<Arc<CachedKey>> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(digest)
            .cloned()
    }

    /// Replaces the whole set with the store's active keys.
    pub async fn refresh(
        &self,
        store: &dyn Store,
        now_ms: i64,
    ) -> Result<usize, morn_store::StoreError> {
        let keys = store.list_active_api_keys(now_ms).await?;
        let orgs: HashMap<String, String> =
            store.list_workspace_orgs().await?.into_iter().collect();
        let map: Map = keys
            .iter()
            .filter_map(|k| {
                // A key whose workspace vanished between the two reads is gone too; a
                // stored hash that is not one could never match.
                let org = orgs.get(&k.workspace_id)?;
                let digest = digest_of_hash(&k.hash)?;
                Some((digest, Arc::new(CachedKey::from_record(k, org))))
            })
            .collect();
        let count = map.len();
        *self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(map);
        Ok(count)
    }

    /// Adds or replaces one key (after creating or updating it on this replica).
    pub fn put(&self, key: &ApiKey, org_id: &str) {
        let mut guard = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(digest) = digest_of_hash(&key.hash) else {
            return;
        };
        let mut map = Map::clone(&guard);
        map.insert(digest, Arc::new(CachedKey::from_record(key, org_id)));
        *guard = Arc::new(map);
    }

    /// Drops a key at once (after revoking it on this replica).
    pub fn remove_id(&self, key_id: &str) {
        let mut guard = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let map: Map = guard
            .iter()
            .filter(|(_, k)| k.id != key_id)
            .map(|(d, k)| (*d, k.clone()))
            .collect();
        *guard = Arc::new(map);
    }

    /// Keeps the cache fresh until the process ends.
    pub fn spawn_refresher(
        self: &Arc<Self>,
        store: Arc<dyn Store>,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let cache = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                ticker.tick().await;
                match cache.refresh(store.as_ref(), now_ms()).await {
                    Ok(_) if failing => {
                        tracing::info!("API key refresh recovered");
                        failing = false;
                    }
                    Ok(_) => {}
                    Err(err) if !failing => {
                        tracing::warn!(error = %err, "API key refresh failed; keeping the last known keys");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
        })
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
