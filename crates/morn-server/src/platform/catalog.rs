//! Providers and models as data: `/orgs/{org}/providers` and `/orgs/{org}/models`.
//! They are stored here; [`crate::tenancy`] loads them into the organization's routing
//! table every second, and at once after each write on this replica.
//!
//! The config file's models are listed too (`"source": "config"`, `"read_only": true`,
//! id `config:<name>`) but cannot be changed here, and no catalog model may take a
//! config model's name or alias.
//!
//! A provider's `api_key` is write-only: it is sealed in the vault under the secret
//! name of the provider, bound to the associated data `"{org_id}/{workspace_id or
//! empty}/{name}"`, and responses show only `api_key_hint`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use morn_providers::ProviderKind;
use morn_store::{ModelRecord, ProviderRecord, VaultSecret};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::access::OrgAccess;
use super::audit::{Entry, record};
use super::error::{PResult, PlatformError};
use super::extract::{Body, List, Query, new_id, now_ms};
use crate::state::Shared;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeQuery {
    /// Lists one workspace's entries; absent: the organization-wide ones.
    workspace_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ProviderView {
    #[serde(flatten)]
    record: ProviderRecord,
    object: &'static str,
    api_key_hint: Option<String>,
}

async fn provider_view(state: &Shared, record: ProviderRecord) -> PResult<ProviderView> {
    let hint = match &record.secret_id {
        Some(id) => state
            .identity
            .store
            .get_secret(&record.org_id, id)
            .await?
            .map(|s| s.hint),
        None => None,
    };
    Ok(ProviderView {
        record,
        object: "provider",
        api_key_hint: hint,
    })
}

/// Checks that `workspace_id` (if any) belongs to the organization.
async fn scope(state: &Shared, access: &OrgAccess, ws: Option<String>) -> PResult<Option<String>> {
    let Some(ws) = ws else { return Ok(None) };
    match state.identity.store.get_workspace(&ws).await? {
        Some(w) if w.org_id == access.org.id => Ok(Some(ws)),
        _ => Err(PlatformError::NotFound("workspace")),
    }
}

/// `GET /orgs/{org}/providers`.
pub async fn list_providers(
    State(state): State<Shared>,
    access: OrgAccess,
    Query(q): Query<ScopeQuery>,
) -> PResult<Json<List<ProviderView>>> {
    let ws = scope(&state, &access, q.workspace_id).await?;
    let records = state
        .identity
        .store
        .list_providers(&access.org.id, ws.as_deref())
        .await?;
    let mut views = Vec::with_capacity(records.len());
    for record in records {
        views.push(provider_view(&state, record).await?);
    }
    Ok(Json(List::all(views)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderBody {
    name: Option<String>,
    kind: Option<String>,
    base_url: Option<String>,
    api_key: Option<String>,
    headers: Option<Value>,
    workspace_id: Option<String>,
}

/// `POST /orgs/{org}/providers`.
pub async fn create_provider(
    State(state): State<Shared>,
    access: OrgAccess,
    Body(body): Body<ProviderBody>,
) -> PResult<(StatusCode, Json<ProviderView>)> {
    let now = now_ms();
    let mut record = ProviderRecord {
        id: new_id(),
        org_id: access.org.id.clone(),
        workspace_id: scope(&state, &access, body.workspace_id.clone()).await?,
        name: String::new(),
        kind: String::new(),
        base_url: None,
        secret_id: None,
        headers: json!({}),
        created_at: now,
        updated_at: now,
    };
    if body.name.is_none() {
        return Err(PlatformError::MissingField("name".to_owned()));
    }
    if body.kind.is_none() {
        return Err(PlatformError::MissingField("kind".to_owned()));
    }
    apply(&state, &mut record, body).await?;
    state.identity.store.create_provider(&record).await?;
    audit(&state, &access, "provider.create", &record.id, &record.name).await;
    state.tenancy.refresh().await;
    Ok((
        StatusCode::CREATED,
        Json(provider_view(&state, record).await?),
    ))
}

/// Applies the set fields of `body`, sealing a new API key.
async fn apply(state: &Shared, record: &mut ProviderRecord, body: ProviderBody) -> PResult<()> {
    if let Some(name) = body.name {
        record.name = valid_name(&name)?;
    }
    if let Some(kind) = body.kind {
        let parsed: ProviderKind = serde_json::from_value(json!(kind))
            .map_err(|_| PlatformError::invalid("kind", "Use openai, anthropic or gemini."))?;
        record.kind = parsed.as_str().to_owned();
    }
    if let Some(url) = body.base_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(PlatformError::invalid("base_url", "An http(s) URL."));
        }
        record.base_url = Some(url);
    }
    if let Some(headers) = body.headers {
        if !headers
            .as_object()
            .is_some_and(|h| h.values().all(Value::is_string))
        {
            return Err(PlatformError::invalid(
                "headers",
                "An object of string values.",
            ));
        }
        record.headers = headers;
    }
    if let Some(key) = body.api_key {
        let ws = record.workspace_id.as_deref().unwrap_or("");
        let aad = format!("{}/{ws}/{}", record.org_id, record.name);
        let sealed = state.identity.vault.seal(&key, &aad)?;
        let secret = VaultSecret {
            id: new_id(),
            org_id: record.org_id.clone(),
            workspace_id: record.workspace_id.clone(),
            name: record.name.clone(),
            ciphertext: sealed.ciphertext,
            nonce: sealed.nonce,
            key_id: sealed.key_id,
            hint: morn_auth::hint(&key),
            created_at: record.updated_at,
            updated_at: record.updated_at,
        };
        record.secret_id = Some(state.identity.store.put_secret(&secret).await?.id);
    }
    Ok(())
}

/// `PATCH /orgs/{org}/providers/{id}`.
pub async fn update_provider(
    State(state): State<Shared>,
    access: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    Body(body): Body<ProviderBody>,
) -> PResult<Json<ProviderView>> {
    let store = &state.identity.store;
    let mut record = store
        .get_provider(&access.org.id, &id)
        .await?
        .ok_or(PlatformError::NotFound("provider"))?;
    if body.workspace_id.is_some() {
        return Err(PlatformError::invalid(
            "workspace_id",
            "A provider cannot move.",
        ));
    }
    if body.name.is_some() && body.api_key.is_none() && record.secret_id.is_some() {
        return Err(PlatformError::InvalidRequest(
            "Renaming a provider needs its `api_key` again (the key is bound to the name)."
                .to_owned(),
        ));
    }
    record.updated_at = now_ms();
    apply(&state, &mut record, body).await?;
    store.update_provider(&record).await?;
    audit(&state, &access, "provider.update", &record.id, &record.name).await;
    state.tenancy.refresh().await;
    Ok(Json(provider_view(&state, record).await?))
}

/// `DELETE /orgs/{org}/providers/{id}`: with its stored API key.
pub async fn delete_provider(
    State(state): State<Shared>,
    access: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> PResult<StatusCode> {
    let store = &state.identity.store;
    let record = store
        .get_provider(&access.org.id, &id)
        .await?
        .ok_or(PlatformError::NotFound("provider"))?;
    store.delete_provider(&access.org.id, &id).await?;
    if let Some(secret) = &record.secret_id {
        store.delete_secret(&access.org.id, secret).await?;
    }
    audit(&state, &access, "provider.delete", &record.id, &record.name).await;
    state.tenancy.refresh().await;
    Ok(StatusCode::NO_CONTENT)
}

/// A model as listed: a catalog record, or a read-only config-file entry.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ModelView {
    Catalog {
        #[serde(flatten)]
        record: ModelRecord,
        source: &'static str,
        read_only: bool,
    },
    Config {
        id: String,
        name: String,
        aliases: Vec<String>,
        source: &'static str,
        read_only: bool,
    },
}

/// The id prefix of config-file entries, which have no record.
const CONFIG_ID: &str = "config:";

/// `GET /orgs/{org}/models`: the scope's catalog models; the organization-wide list
/// ends with the config file's models, which every key of the organization can use.
pub async fn list_models(
    State(state): State<Shared>,
    access: OrgAccess,
    Query(q): Query<ScopeQuery>,
) -> PResult<Json<List<ModelView>>> {
    let ws = scope(&state, &access, q.workspace_id).await?;
    let models = state
        .identity
        .store
        .list_models(&access.org.id, ws.as_deref())
        .await?;
    let mut views: Vec<ModelView> = models
        .into_iter()
        .map(|record| ModelView::Catalog {
            record,
            source: "catalog",
            read_only: false,
        })
        .collect();
    if ws.is_none() {
        views.extend(
            state
                .tenancy
                .config_routes()
                .iter()
                .map(|r| ModelView::Config {
                    id: format!("{CONFIG_ID}{}", r.name),
                    name: r.name.clone(),
                    aliases: r.aliases.clone(),
                    source: "config",
                    read_only: true,
                }),
        );
    }
    Ok(Json(List::all(views)))
}

/// Refuses changes to config-file entries and catalog names that would hide one.
fn not_config(state: &Shared, id: Option<&str>, name: Option<&str>) -> PResult<()> {
    if id.is_some_and(|id| id.starts_with(CONFIG_ID)) {
        return Err(PlatformError::Conflict(
            "Config-file models are read-only; change them in the config file.".to_owned(),
        ));
    }
    if name.is_some_and(|n| state.tenancy.is_config_name(n)) {
        return Err(PlatformError::Conflict(
            "A config-file model has this name; choose another.".to_owned(),
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelBody {
    name: Option<String>,
    spec: Option<Value>,
    workspace_id: Option<String>,
}

/// `POST /orgs/{org}/models`.
pub async fn create_model(
    State(state): State<Shared>,
    access: OrgAccess,
    Body(body): Body<ModelBody>,
) -> PResult<(StatusCode, Json<ModelRecord>)> {
    let name = body
        .name
        .ok_or(PlatformError::MissingField("name".to_owned()))?;
    let spec = body
        .spec
        .ok_or(PlatformError::MissingField("spec".to_owned()))?;
    not_config(&state, None, Some(name.trim()))?;
    let now = now_ms();
    let model = ModelRecord {
        id: new_id(),
        org_id: access.org.id.clone(),
        workspace_id: scope(&state, &access, body.workspace_id).await?,
        name: valid_name_in(&name, true)?,
        spec: valid_spec(spec)?,
        created_at: now,
        updated_at: now,
    };
    state.identity.store.create_model(&model).await?;
    audit(&state, &access, "model.create", &model.id, &model.name).await;
    state.tenancy.refresh().await;
    Ok((StatusCode::CREATED, Json(model)))
}

/// `PATCH /orgs/{org}/models/{id}`.
pub async fn update_model(
    State(state): State<Shared>,
    access: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    Body(body): Body<ModelBody>,
) -> PResult<Json<ModelRecord>> {
    not_config(&state, Some(&id), body.name.as_deref().map(str::trim))?;
    let store = &state.identity.store;
    let mut model = store
        .get_model(&access.org.id, &id)
        .await?
        .ok_or(PlatformError::NotFound("model"))?;
    if body.workspace_id.is_some() {
        return Err(PlatformError::invalid(
            "workspace_id",
            "A model cannot move.",
        ));
    }
    if let Some(name) = body.name {
        model.name = valid_name_in(&name, true)?;
    }
    if let Some(spec) = body.spec {
        model.spec = valid_spec(spec)?;
    }
    model.updated_at = now_ms();
    store.update_model(&model).await?;
    audit(&state, &access, "model.update", &model.id, &model.name).await;
    state.tenancy.refresh().await;
    Ok(Json(model))
}

/// `DELETE /orgs/{org}/models/{id}`.
pub async fn delete_model(
    State(state): State<Shared>,
    access: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> PResult<StatusCode> {
    not_config(&state, Some(&id), None)?;
    let store = &state.identity.store;
    let model = store
        .get_model(&access.org.id, &id)
        .await?
        .ok_or(PlatformError::NotFound("model"))?;
    store.delete_model(&access.org.id, &id).await?;
    audit(&state, &access, "model.delete", &model.id, &model.name).await;
    state.tenancy.refresh().await;
    Ok(StatusCode::NO_CONTENT)
}

async fn audit(state: &Shared, access: &OrgAccess, action: &'static str, id: &str, name: &str) {
    let target = action.split('.').next().unwrap_or("catalog");
    let target = if target == "provider" {
        "provider"
    } else {
        "model"
    };
    let entry = Entry::new(&access.caller, action, target)
        .target(id)
        .details(json!({"name": name}));
    record(state, &access.org.id, &access.meta, entry).await;
}

fn valid_name(name: &str) -> PResult<String> {
    valid_name_in(name, false)
}

/// Names are 1 to 100 characters without spaces; model names may contain `/`
/// (`team/gpt`), provider names not (they are part of the vault binding).
fn valid_name_in(name: &str, slash: bool) -> PResult<String> {
    let name = name.trim();
    let ok = (1..=100).contains(&name.len())
        && (slash || !name.contains('/'))
        && !name.chars().any(char::is_whitespace);
    if !ok {
        return Err(PlatformError::invalid(
            "name",
            "1 to 100 characters without spaces (and no `/` in provider names).",
        ));
    }
    Ok(name.to_owned())
}

/// Checks the spec's shape (see `tenancy::ModelSpec`); providers are resolved when the
/// table is built, so a model may name a provider created later.
fn valid_spec(spec: Value) -> PResult<Value> {
    match crate::tenancy::ModelSpec::parse(&spec) {
        Ok(_) => Ok(spec),
        Err(message) => Err(PlatformError::invalid("spec", message)),
    }
}
