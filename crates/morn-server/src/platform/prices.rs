//! Prices: the shipped catalog (`GET /prices`, for anyone signed in) and an
//! organization's overrides (`/orgs/{org}/prices`), organization-wide or for one
//! workspace, for every deployment of a model or one.
//!
//! An override's `price` has the catalog's shape (`morn_meter::prices::Price`, per
//! million tokens in micro-units); it is checked by deserialising into that type, so
//! the API accepts exactly what the meter can bill with, and stored normalised.
//! Members of the organization read overrides; owners and admins change them. Every
//! change is audited and applied to this replica's in-memory prices at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use morn_meter::prices::Price;
use morn_store::PriceOverride;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::access::{Caller, OrgAccess};
use super::audit::{Entry, record};
use super::error::{PResult, PlatformError};
use super::extract::{Body, List, Query, new_id, now_ms};
use super::policy::{double_option, plausible_id, valid_text};
use crate::state::Shared;

/// `GET /prices`: the shipped catalog, by model name.
#[derive(Debug, Serialize)]
pub struct CatalogView {
    object: &'static str,
    /// The day the shipped prices were read, `YYYY-MM-DD`.
    date: String,
    currency: &'static str,
    /// What the numbers are.
    unit: &'static str,
    data: Vec<CatalogEntry>,
}

#[derive(Debug, Serialize)]
pub struct CatalogEntry {
    model: String,
    price: Price,
}

/// `GET /prices`: the catalog the meter bills with (overrides aside).
pub async fn list_catalog(State(state): State<Shared>, _caller: Caller) -> Json<CatalogView> {
    let catalog = &state.meter.catalog;
    let mut data: Vec<CatalogEntry> = catalog
        .prices
        .iter()
        .map(|(model, price)| CatalogEntry {
            model: model.clone(),
            price: price.clone(),
        })
        .collect();
    data.sort_by(|a, b| a.model.cmp(&b.model));
    Json(CatalogView {
        object: "price_catalog",
        date: catalog.date.clone(),
        currency: "USD",
        unit: "micro-units per million tokens",
        data,
    })
}

/// An override as the API shows it.
#[derive(Debug, Serialize)]
pub struct OverrideView {
    #[serde(flatten)]
    price: PriceOverride,
    object: &'static str,
}

impl From<PriceOverride> for OverrideView {
    fn from(price: PriceOverride) -> Self {
        Self {
            price,
            object: "price_override",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideQuery {
    /// Only this workspace's overrides; absent: all of the organization's.
    workspace_id: Option<String>,
}

/// `GET /orgs/{org}/prices`.
pub async fn list(
    State(state): State<Shared>,
    access: OrgAccess,
    Query(q): Query<OverrideQuery>,
) -> PResult<Json<List<OverrideView>>> {
    let ws = match q.workspace_id {
        Some(ws) => Some(workspace_in_org(&state, &access, &ws).await?),
        None => None,
    };
    let prices = state
        .identity
        .store
        .list_price_overrides(&access.org.id, ws.as_deref())
        .await?;
    Ok(Json(List::all(
        prices.into_iter().map(Into::into).collect(),
    )))
}

/// The body of create and update; on update, absent fields stay and
/// `deployment: null` makes the override apply to every deployment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    model: Option<String>,
    workspace_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    deployment: Option<Option<String>>,
    price: Option<Value>,
}

/// `POST /orgs/{org}/prices`.
pub async fn create(
    State(state): State<Shared>,
    access: OrgAccess,
    Body(body): Body<OverrideBody>,
) -> PResult<(StatusCode, Json<OverrideView>)> {
    let model = body
        .model
        .as_deref()
        .ok_or_else(|| PlatformError::MissingField("model".to_owned()))?;
    let price = body
        .price
        .ok_or_else(|| PlatformError::MissingField("price".to_owned()))?;
    let workspace_id = match &body.workspace_id {
        Some(ws) => Some(workspace_in_org(&state, &access, ws).await?),
        None => None,
    };
    let now = now_ms();
    let record = PriceOverride {
        id: new_id(),
        org_id: access.org.id.clone(),
        workspace_id,
        model: valid_text("model", model, 200)?,
        deployment: body
            .deployment
            .flatten()
            .map(valid_deployment)
            .transpose()?,
        price: valid_price(price)?,
        created_at: now,
        updated_at: now,
    };
    state.identity.store.create_price_override(&record).await?;
    changed(&state, &access, "price_override.create", &record).await;
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// `GET /orgs/{org}/prices/{id}`.
pub async fn get(
    State(state): State<Shared>,
    access: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> PResult<Json<OverrideView>> {
    Ok(Json(find(&state, &access, &id).await?.into()))
}

/// `PATCH /orgs/{org}/prices/{id}`.
pub async fn update(
    State(state): State<Shared>,
    access: OrgAccess,
    Path((_, id)): Path<(String, String)>,
    Body(body): Body<OverrideBody>,
) -> PResult<Json<OverrideView>> {
    let mut record = find(&state, &access, &id).await?;
    if body.workspace_id.is_some() {
        // Moving an override would silently change what another workspace pays;
        // delete it and create one there instead.
        return Err(PlatformError::invalid(
            "workspace_id",
            "A price override cannot move to another workspace.",
        ));
    }
    if let Some(model) = &body.model {
        record.model = valid_text("model", model, 200)?;
    }
    if let Some(deployment) = body.deployment {
        record.deployment = deployment.map(valid_deployment).transpose()?;
    }
    if let Some(price) = body.price {
        record.price = valid_price(price)?;
    }
    record.updated_at = now_ms();
    state.identity.store.update_price_override(&record).await?;
    changed(&state, &access, "price_override.update", &record).await;
    Ok(Json(record.into()))
}

/// `DELETE /orgs/{org}/prices/{id}`.
pub async fn delete(
    State(state): State<Shared>,
    access: OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> PResult<StatusCode> {
    let record = find(&state, &access, &id).await?;
    state
        .identity
        .store
        .delete_price_override(&access.org.id, &record.id)
        .await?;
    changed(&state, &access, "price_override.delete", &record).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks `price` against the meter's own type and returns it normalised (defaults
/// left out), so what is stored is exactly what the meter will read back.
fn valid_price(price: Value) -> PResult<Value> {
    let parsed: Price = serde_json::from_value(price).map_err(|e| {
        PlatformError::invalid(
            "price",
            format!("Invalid price: {e}. Prices are integer micro-units per million tokens, e.g. {{\"input\": 150000, \"output\": 600000}}."),
        )
    })?;
    parsed
        .validate()
        .map_err(|e| PlatformError::invalid("price", format!("Invalid price: {e}.")))?;
    serde_json::to_value(&parsed).map_err(PlatformError::internal)
}

/// `<provider>/<upstream model>`, as the ledger records deployments.
fn valid_deployment(deployment: String) -> PResult<String> {
    let deployment = valid_text("deployment", &deployment, 200)?;
    match deployment.split_once('/') {
        Some((provider, model)) if !provider.is_empty() && !model.is_empty() => Ok(deployment),
        _ => Err(PlatformError::invalid(
            "deployment",
            "A deployment is `<provider>/<upstream model>`, e.g. `openai/gpt-4o-2024-08-06`.",
        )),
    }
}

/// `ws` if it is a workspace of the organization; `invalid_value` otherwise (the same
/// answer for a missing workspace and another organization's).
async fn workspace_in_org(state: &Shared, access: &OrgAccess, ws: &str) -> PResult<String> {
    let bad = || {
        PlatformError::invalid(
            "workspace_id",
            "No workspace with this id in the organization.",
        )
    };
    if !plausible_id(ws) {
        return Err(bad());
    }
    match state.identity.store.get_workspace(ws).await? {
        Some(w) if w.org_id == access.org.id => Ok(w.id),
        _ => Err(bad()),
    }
}

/// The organization's override `id` (404 for another organization's).
async fn find(state: &Shared, access: &OrgAccess, id: &str) -> PResult<PriceOverride> {
    let missing = PlatformError::NotFound("price override");
    if !plausible_id(id) {
        return Err(missing);
    }
    state
        .identity
        .store
        .get_price_override(&access.org.id, id)
        .await?
        .ok_or(missing)
}

/// Applies a change to this replica's prices, then audits it.
async fn changed(state: &Shared, access: &OrgAccess, action: &'static str, p: &PriceOverride) {
    crate::metering::policies_changed(state).await;
    let mut entry = Entry::new(&access.caller, action, "price_override")
        .target(&p.id)
        .details(json!({
            "model": p.model,
            "deployment": p.deployment,
            "price": p.price,
        }));
    if let Some(ws) = &p.workspace_id {
        entry = entry.workspace(ws);
    }
    record(state, &p.org_id, &access.meta, entry).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_checked_by_the_meter_type() {
        let ok = valid_price(json!({"input": 150_000, "output": 600_000, "cache_read": null}));
        assert_eq!(ok.ok(), Some(json!({"input": 150_000, "output": 600_000})));
        for bad in [
            json!({"input": 1}),
            json!({"input": 1, "output": 2, "cache_raed": 3}),
            json!({"input": -1, "output": 2}),
            json!({"input": 1.5, "output": 2}),
            json!("cheap"),
        ] {
            let err = valid_price(bad.clone()).err();
            assert!(
                matches!(
                    err,
                    Some(PlatformError::InvalidValue { param: "price", .. })
                ),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn deployments_name_provider_and_model() {
        assert!(valid_deployment("openai/gpt-4o".into()).is_ok());
        assert!(valid_deployment("gpt-4o".into()).is_err());
        assert!(valid_deployment("/gpt-4o".into()).is_err());
    }
}
