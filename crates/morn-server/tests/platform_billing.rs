//! Billing through the platform API: rate limits, budgets, price overrides, usage
//! reports and invoices. CRUD round trips, validation errors with their stable codes,
//! tenant isolation, CSV output, and invoices that add up to the ledger.
//!
//! These tests write usage straight into the ledger (`UsageStore::insert_usage`) so
//! the figures are known exactly; that needs the store, which `TestEnv` keeps to
//! itself, so this file serves the real router over its own store (see `Env`).
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use morn_server::{AppState, AuthSettings, ServeOptions};
use morn_store::{Store, UsageRecord};
use reqwest::Method;
use serde_json::{Value, json};

const MASTER: &str = "sk-morn-billing-test";
const PASSWORD: &str = "correct horse battery";

/// The real server on port 0 over a store the test can write usage into.
struct Env {
    base: String,
    http: reqwest::Client,
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

#[derive(Debug)]
struct Reply {
    status: u16,
    body: Value,
    text: String,
    content_type: String,
    disposition: String,
}

impl Reply {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    fn param(&self) -> &str {
        self.body["error"]["param"].as_str().unwrap_or("")
    }

    fn str(&self, pointer: &str) -> String {
        self.body
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    fn len(&self) -> usize {
        self.body["data"].as_array().map_or(0, Vec::len)
    }
}

struct Account {
    user_id: String,
    access: String,
    org: String,
    ws: String,
}

impl Env {
    async fn start() -> anyhow::Result<Self> {
        morn_providers::install_crypto_provider();
        let dir = tempfile::tempdir()?;
        let identity = common::identity(dir.path()).await?;
        let store = identity.store.clone();
        let meter = morn_server::metering::Meter::embedded(store.clone(), dir.path())
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        let state = AppState {
            gateway: Arc::new(morn_gateway::Gateway::new(&[], Default::default())),
            tenancy: morn_server::tenancy::Tenancy::start(
                Vec::new(),
                Default::default(),
                identity.clone(),
            ),
            reload: None,
            meter,
            identity,
            auth: Arc::new(AuthSettings {
                master_key: morn_providers::Secret::new(MASTER),
            }),
            max_body_bytes: 1 << 20,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}/api/v1", listener.local_addr()?);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let options = ServeOptions {
            shutdown_grace: Duration::from_secs(1),
        };
        tokio::spawn(morn_server::serve(listener, state, options, async {
            let _ = rx.await;
        }));
        Ok(Self {
            base,
            http: reqwest::Client::new(),
            store,
            _dir: dir,
            _shutdown: tx,
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Reply> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let (content_type, disposition) = (header("content-type"), header("content-disposition"));
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            body,
            text,
            content_type,
            disposition,
        })
    }

    async fn get(&self, path: &str, token: &str) -> anyhow::Result<Reply> {
        self.call(Method::GET, path, token, None).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> anyhow::Result<Reply> {
        self.call(Method::POST, path, token, Some(body)).await
    }

    async fn patch(&self, path: &str, token: &str, body: Value) -> anyhow::Result<Reply> {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    async fn delete(&self, path: &str, token: &str) -> anyhow::Result<Reply> {
        self.call(Method::DELETE, path, token, None).await
    }

    async fn signup(&self, email: &str) -> anyhow::Result<Account> {
        let body = json!({"email": email, "password": PASSWORD, "name": "Test User"});
        let response = self
            .http
            .post(format!("{}/auth/signup", self.base))
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(response.status() == 201, "signup: {}", response.status());
        let reply: Value = response.json().await?;
        let s = |p: &str| reply.pointer(p).and_then(Value::as_str).unwrap().to_owned();
        Ok(Account {
            user_id: s("/user/id"),
            access: s("/access_token"),
            org: s("/org/id"),
            ws: s("/workspace/id"),
        })
    }

    /// A key in the account's workspace; returns its id.
    async fn key(&self, who: &Account) -> anyhow::Result<String> {
        let path = format!("/workspaces/{}/keys", who.ws);
        let reply = self.post(&path, &who.access, json!({"name": "k"})).await?;
        anyhow::ensure!(reply.status == 201, "{reply:?}");
        Ok(reply.str("/id"))
    }

    /// Adds `email` (signed up already) to the account's workspace with `role`.
    async fn add_member(&self, who: &Account, email: &str, role: &str) -> anyhow::Result<()> {
        let path = format!("/workspaces/{}/members", who.ws);
        let reply = self
            .post(&path, &who.access, json!({"email": email, "role": role}))
            .await?;
        anyhow::ensure!(reply.status == 201, "{reply:?}");
        Ok(())
    }
}

fn usage(who: &Account, model: &str, at: i64, cost: i64) -> UsageRecord {
    UsageRecord {
        request_id: uuid::Uuid::now_v7().to_string(),
        created_at: at,
        org_id: Some(who.org.clone()),
        workspace_id: Some(who.ws.clone()),
        user_id: Some(who.user_id.clone()),
        key_id: None,
        endpoint: "chat".into(),
        model: model.into(),
        deployment: Some(format!("openai/{model}")),
        stream: false,
        status: 200,
        error_class: None,
        input_tokens: 1000,
        output_tokens: 200,
        cache_read_tokens: 100,
        cache_write_tokens: 0,
        reasoning_tokens: 50,
        cost_micros: cost,
        estimated: false,
        cache_hit: false,
        latency_ms: 12,
        ttft_ms: None,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// 2025-01-01T00:00:00Z and 2025-02-01T00:00:00Z.
const JAN: i64 = 1_735_689_600_000;
const FEB: i64 = 1_738_368_000_000;

#[tokio::test]
async fn rate_limits_round_trip_with_validation_and_audit() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let alice = env.signup("alice@example.com").await?;
    let key = env.key(&alice).await?;
    let limits = format!("/workspaces/{}/limits", alice.ws);

    let created = env
        .post(
            &limits,
            &alice.access,
            json!({"scope": "key", "scope_id": key, "model": "gpt-4o-mini", "rpm": 60}),
        )
        .await?;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["object"], "rate_limit");
    assert_eq!(created.body["rpm"], 60);
    assert!(created.body["tpm"].is_null());
    let id = created.str("/id");
    let one = format!("{limits}/{id}");

    // The workspace scope needs no id; it is the workspace itself.
    let whole = env
        .post(
            &limits,
            &alice.access,
            json!({"scope": "workspace", "tpm": 100_000}),
        )
        .await?;
    assert_eq!(whole.str("/scope_id"), alice.ws, "{whole:?}");
    let listed = env.get(&limits, &alice.access).await?;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed.body["object"], "list");

    let changed = env
        .patch(
            &one,
            &alice.access,
            json!({"rpm": null, "max_concurrent": 2}),
        )
        .await?;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert!(changed.body["rpm"].is_null());
    assert_eq!(changed.body["max_concurrent"], 2);
    assert_eq!(
        env.get(&one, &alice.access).await?.body["max_concurrent"],
        2
    );

    // Validation: stable codes, the field named.
    let cases = [
        (json!({"rpm": 5}), 400, "missing_field", "scope"),
        (
            json!({"scope": "team", "rpm": 5}),
            400,
            "invalid_value",
            "scope",
        ),
        (
            json!({"scope": "key", "rpm": 5}),
            400,
            "missing_field",
            "scope_id",
        ),
        (
            json!({"scope": "key", "scope_id": "nope", "rpm": 5}),
            400,
            "invalid_value",
            "scope_id",
        ),
        (
            json!({"scope": "user", "scope_id": "nope", "rpm": 5}),
            400,
            "invalid_value",
            "scope_id",
        ),
        (
            json!({"scope": "workspace", "scope_id": "other", "rpm": 5}),
            400,
            "invalid_value",
            "scope_id",
        ),
        (
            json!({"scope": "key", "scope_id": key, "rpm": 0}),
            400,
            "invalid_value",
            "rpm",
        ),
        (
            json!({"scope": "key", "scope_id": key, "tpm": -3}),
            400,
            "invalid_value",
            "tpm",
        ),
        (
            json!({"scope": "key", "scope_id": key}),
            400,
            "invalid_request",
            "",
        ),
        (
            json!({"scope": "workspace", "rpm": 1, "burst": 2}),
            400,
            "invalid_request",
            "",
        ),
    ];
    for (body, status, code, param) in cases {
        let reply = env.post(&limits, &alice.access, body.clone()).await?;
        assert_eq!(
            (reply.status, reply.code(), reply.param()),
            (status, code, param),
            "{body}"
        );
    }
    // Clearing the last limit is refused; a second rule for the same subject conflicts.
    let emptied = env
        .patch(&one, &alice.access, json!({"max_concurrent": null}))
        .await?;
    assert_eq!((emptied.status, emptied.code()), (400, "invalid_request"));
    let twin = env
        .post(
            &limits,
            &alice.access,
            json!({"scope": "workspace", "rpm": 1}),
        )
        .await?;
    assert_eq!((twin.status, twin.code()), (409, "conflict"));

    assert_eq!(env.delete(&one, &alice.access).await?.status, 204);
    assert_eq!(env.get(&one, &alice.access).await?.status, 404);
    assert_eq!(env.delete(&one, &alice.access).await?.status, 404);

    let audit = env
        .get(
            &format!("/orgs/{}/audit?action=rate_limit.create", alice.org),
            &alice.access,
        )
        .await?;
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit.body["data"][0]["target_type"], "rate_limit");
    for action in ["rate_limit.update", "rate_limit.delete"] {
        let path = format!("/orgs/{}/audit?action={action}", alice.org);
        assert_eq!(env.get(&path, &alice.access).await?.len(), 1, "{action}");
    }
    Ok(())
}

#[tokio::test]
async fn viewers_read_policies_and_only_admins_write_them() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let alice = env.signup("alice@example.com").await?;
    let vera = env.signup("vera@example.com").await?;
    env.add_member(&alice, "vera@example.com", "viewer").await?;
    let limits = format!("/workspaces/{}/limits", alice.ws);
    let budgets = format!("/workspaces/{}/budgets", alice.ws);
    env.post(
        &limits,
        &alice.access,
        json!({"scope": "workspace", "rpm": 10}),
    )
    .await?;

    assert_eq!(env.get(&limits, &vera.access).await?.len(), 1);
    assert_eq!(env.get(&budgets, &vera.access).await?.status, 200);
    let body = json!({"scope": "user", "scope_id": vera.user_id, "rpm": 1});
    let refused = env.post(&limits, &vera.access, body.clone()).await?;
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));
    // A member of the workspace can be the subject of a rule.
    let limited = env.post(&limits, &alice.access, body).await?;
    assert_eq!(limited.status, 201, "{limited:?}");
    let invoice = format!("/workspaces/{}/invoices/2025-01", alice.ws);
    assert_eq!(env.get(&invoice, &vera.access).await?.status, 200);
    let usage = format!("/workspaces/{}/usage", alice.ws);
    assert_eq!(env.get(&usage, &vera.access).await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn other_tenants_see_nothing_and_cannot_point_policies_at_us() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let alice = env.signup("alice@example.com").await?;
    let mallory = env.signup("mallory@example.com").await?;
    let alice_key = env.key(&alice).await?;

    let limit = env
        .post(
            &format!("/workspaces/{}/limits", alice.ws),
            &alice.access,
            json!({"scope": "key", "scope_id": alice_key, "rpm": 5}),
        )
        .await?;
    let budget = env
        .post(
            &format!("/workspaces/{}/budgets", alice.ws),
            &alice.access,
            json!({"scope": "workspace", "period": "month", "amount_micros": 5}),
        )
        .await?;
    let price = env
        .post(
            &format!("/orgs/{}/prices", alice.org),
            &alice.access,
            json!({"model": "gpt-4o", "price": {"input": 1, "output": 2}}),
        )
        .await?;
    for created in [&limit, &budget, &price] {
        assert_eq!(created.status, 201, "{created:?}");
    }

    // Alice's objects by their own paths: 404 for Mallory.
    for path in [
        format!("/workspaces/{}/limits/{}", alice.ws, limit.str("/id")),
        format!("/workspaces/{}/budgets/{}", alice.ws, budget.str("/id")),
        format!("/orgs/{}/prices/{}", alice.org, price.str("/id")),
        format!("/workspaces/{}/usage", alice.ws),
        format!("/workspaces/{}/invoices/2025-01", alice.ws),
        format!("/orgs/{}/usage", alice.org),
    ] {
        let reply = env.get(&path, &mallory.access).await?;
        assert_eq!((reply.status, reply.code()), (404, "not_found"), "{path}");
    }
    // Alice's ids under Mallory's own workspace and organization: 404 too.
    for path in [
        format!("/workspaces/{}/limits/{}", mallory.ws, limit.str("/id")),
        format!("/workspaces/{}/budgets/{}", mallory.ws, budget.str("/id")),
        format!("/orgs/{}/prices/{}", mallory.org, price.str("/id")),
    ] {
        assert_eq!(env.get(&path, &mallory.access).await?.status, 404, "{path}");
        let deleted = env.delete(&path, &mallory.access).await?;
        assert_eq!(deleted.status, 404, "{path}");
    }
    // Mallory cannot aim a policy at Alice's key, Alice, or Alice's workspace.
    for body in [
        json!({"scope": "key", "scope_id": alice_key, "rpm": 1}),
        json!({"scope": "user", "scope_id": alice.user_id, "rpm": 1}),
        json!({"scope": "workspace", "scope_id": alice.ws, "rpm": 1}),
    ] {
        let path = format!("/workspaces/{}/limits", mallory.ws);
        let reply = env.post(&path, &mallory.access, body.clone()).await?;
        assert_eq!((reply.status, reply.param()), (400, "scope_id"), "{body}");
    }
    let foreign_ws = env
        .post(
            &format!("/orgs/{}/prices", mallory.org),
            &mallory.access,
            json!({"model": "m", "workspace_id": alice.ws, "price": {"input": 0, "output": 0}}),
        )
        .await?;
    assert_eq!(
        (foreign_ws.status, foreign_ws.param()),
        (400, "workspace_id")
    );
    // Lists stay per tenant.
    let mallory_prices = format!("/orgs/{}/prices", mallory.org);
    assert_eq!(env.get(&mallory_prices, &mallory.access).await?.len(), 0);
    Ok(())
}

#[tokio::test]
async fn budgets_show_the_spend_of_their_current_period() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let alice = env.signup("alice@example.com").await?;
    let key = env.key(&alice).await?;
    let budgets = format!("/workspaces/{}/budgets", alice.ws);

    let created = env
        .post(
            &budgets,
            &alice.access,
            json!({"scope": "key", "scope_id": key, "period": "day", "amount_micros": 2_000_000}),
        )
        .await?;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["alert_percents"], json!([80, 100]));
    assert_eq!(created.body["hard_stop"], true);
    assert_eq!(created.body["spent_micros"], 0);
    let start = created.body["period_start"].as_i64().unwrap();
    assert_eq!(start % 86_400_000, 0);
    assert_eq!(
        created.body["period_end"].as_i64(),
        Some(start + 86_400_000)
    );

    // Spend of this key today counts; yesterday's and another key's do not.
    let now = now_ms();
    let mut today = usage(&alice, "gpt-4o", now - 1, 1_250_000);
    today.key_id = Some(key.clone());
    let mut yesterday = usage(&alice, "gpt-4o", start - 1, 7_000_000);
    yesterday.key_id = Some(key.clone());
    let other_key = usage(&alice, "gpt-4o", now - 1, 9_000_000);
    env.store
        .insert_usage(&[today, yesterday, other_key])
        .await?;
    let one = format!("{budgets}/{}", created.str("/id"));
    let read = env.get(&one, &alice.access).await?;
    assert_eq!(read.body["spent_micros"], 1_250_000, "{read:?}");

    let total = env
        .post(
            &budgets,
            &alice.access,
            json!({"scope": "workspace", "period": "total", "amount_micros": 0,
                   "alert_percents": [100, 50, 50], "hard_stop": false,
                   "webhook_url": "https://hooks.example.com/b"}),
        )
        .await?;
    assert_eq!(total.status, 201, "{total:?}");
    assert_eq!(total.body["alert_percents"], json!([50, 100]));
    assert_eq!(total.body["period_start"], 0);
    assert!(total.body["period_end"].is_null());
    assert_eq!(total.body["spent_micros"], 17_250_000);

    let patched = env
        .patch(
            &one,
            &alice.access,
            json!({"amount_micros": 5, "period": "month"}),
        )
        .await?;
    assert_eq!(patched.body["amount_micros"], 5, "{patched:?}");
    assert_eq!(patched.body["period"], "month");
    let listed = env.get(&budgets, &alice.access).await?;
    assert_eq!(listed.len(), 2);

    let cases = [
        (
            json!({"scope": "workspace", "amount_micros": 1}),
            "missing_field",
            "period",
        ),
        (
            json!({"scope": "workspace", "period": "week", "amount_micros": 1}),
            "invalid_value",
            "period",
        ),
        (
            json!({"scope": "workspace", "period": "day", "amount_micros": -1}),
            "invalid_value",
            "amount_micros",
        ),
        (
            json!({"scope": "workspace", "period": "day", "amount_micros": 1, "alert_percents": [0]}),
            "invalid_value",
            "alert_percents",
        ),
        (
            json!({"scope": "workspace", "period": "day", "amount_micros": 1, "alert_percents": [101]}),
            "invalid_value",
            "alert_percents",
        ),
        (
            json!({"scope": "workspace", "period": "day", "amount_micros": 1, "webhook_url": "ftp://x"}),
            "invalid_value",
            "webhook_url",
        ),
        (
            json!({"scope": "workspace", "period": "day", "amount_micros": 1.5}),
            "invalid_request",
            "",
        ),
    ];
    for (body, code, param) in cases {
        let reply = env.post(&budgets, &alice.access, body.clone()).await?;
        assert_eq!(
            (reply.status, reply.code(), reply.param()),
            (400, code, param),
            "{body}"
        );
    }
    assert_eq!(env.delete(&one, &alice.access).await?.status, 204);
    assert_eq!(env.get(&budgets, &alice.access).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn price_overrides_are_checked_against_the_meter_type() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let alice = env.signup("alice@example.com").await?;
    let prices = format!("/orgs/{}/prices", alice.org);

    let catalog = env.get("/prices", &alice.access).await?;
    assert_eq!(catalog.status, 200, "{catalog:?}");
    assert_eq!(catalog.body["currency"], "USD");
    assert!(catalog.body["date"].is_string());
    assert!(catalog.body["data"].is_array());
    let anonymous = env.http.get(format!("{}/prices", env.base)).send().await?;
    assert_eq!(anonymous.status(), 401);

    let org_wide = env
        .post(
            &prices,
            &alice.access,
            json!({"model": "gpt-4o", "price": {"input": 2_500_000, "output": 10_000_000, "cache_read": null}}),
        )
        .await?;
    assert_eq!(org_wide.status, 201, "{org_wide:?}");
    assert_eq!(
        org_wide.body["price"],
        json!({"input": 2_500_000, "output": 10_000_000})
    );
    assert!(org_wide.body["workspace_id"].is_null());
    let for_ws = env
        .post(
            &prices,
            &alice.access,
            json!({"model": "gpt-4o", "workspace_id": alice.ws, "deployment": "openai/gpt-4o",
                   "price": {"input": 1, "output": 2}}),
        )
        .await?;
    assert_eq!(for_ws.status, 201, "{for_ws:?}");
    assert_eq!(env.get(&prices, &alice.access).await?.len(), 2);
    let only_ws = env
        .get(
            &format!("{prices}?workspace_id={}", alice.ws),
            &alice.access,
        )
        .await?;
    assert_eq!(only_ws.len(), 1);

    let one = format!("{prices}/{}", for_ws.str("/id"));
    let patched = env
        .patch(
            &one,
            &alice.access,
            json!({"deployment": null, "price": {"input": 3, "output": 4}}),
        )
        .await?;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert!(patched.body["deployment"].is_null());
    assert_eq!(patched.body["price"]["input"], 3);
    let moved = env
        .patch(&one, &alice.access, json!({"workspace_id": alice.ws}))
        .await?;
    assert_eq!((moved.status, moved.param()), (400, "workspace_id"));

    for (price, needle) in [
        (json!({"input": 1}), "missing field `output`"),
        (
            json!({"input": 1, "output": 1, "cache_raed": 1}),
            "unknown field `cache_raed`",
        ),
        (json!({"input": -1, "output": 1}), "negative"),
        (json!("cheap"), "invalid type"),
    ] {
        let reply = env
            .post(
                &prices,
                &alice.access,
                json!({"model": "m", "price": price}),
            )
            .await?;
        assert_eq!(
            (reply.status, reply.code(), reply.param()),
            (400, "invalid_value", "price")
        );
        assert!(reply.str("/error/message").contains(needle), "{reply:?}");
    }
    let twin = env
        .post(
            &prices,
            &alice.access,
            json!({"model": "gpt-4o", "price": {"input": 1, "output": 1}}),
        )
        .await?;
    assert_eq!((twin.status, twin.code()), (409, "conflict"));
    let bad_deployment = env
        .post(
            &prices,
            &alice.access,
            json!({"model": "m", "deployment": "x", "price": {"input": 1, "output": 1}}),
        )
        .await?;
    assert_eq!(bad_deployment.param(), "deployment");

    assert_eq!(env.delete(&one, &alice.access).await?.status, 204);
    let audit = env
        .get(
            &format!("/orgs/{}/audit?action=price_override.delete", alice.org),
            &alice.access,
        )
        .await?;
    assert_eq!(audit.len(), 1);
    Ok(())
}

#[tokio::test]
async fn usage_reports_group_bucket_filter_and_export_csv() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let alice = env.signup("alice@example.com").await?;
    let bob = env.signup("bob@example.com").await?;
    let day = 86_400_000;
    env.store
        .insert_usage(&[
            usage(&alice, "gpt-4o", JAN, 1_000_000),
            usage(&alice, "gpt-4o", JAN + day + 5, 2_000_000),
            usage(&alice, "claude", JAN + day + 6, 500_001),
            usage(&alice, "claude", FEB, 99_000_000),
            usage(&bob, "gpt-4o", JAN, 42),
        ])
        .await?;
    let path = format!("/workspaces/{}/usage", alice.ws);
    let window = "since=2025-01-01T00:00:00Z&until=2025-02-01";

    let by_model = env
        .get(&format!("{path}?{window}&group_by=model"), &alice.access)
        .await?;
    assert_eq!(by_model.status, 200, "{by_model:?}");
    assert_eq!(by_model.body["since"], JAN);
    assert_eq!(by_model.body["until"], FEB);
    assert_eq!(by_model.body["totals"]["requests"], 3);
    assert_eq!(by_model.body["totals"]["cost_micros"], 3_500_001);
    assert_eq!(by_model.body["totals"]["cost_usd"], "3.500001");
    let mut rows: Vec<(String, i64)> = by_model.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["model"].as_str().unwrap().to_owned(),
                r["cost_micros"].as_i64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [("claude".into(), 500_001), ("gpt-4o".into(), 3_000_000)]
    );

    // Unix ms work as well as RFC 3339; day buckets; a filter on the model.
    let daily = env
        .get(
            &format!("{path}?since={JAN}&until={FEB}&bucket=day&model=gpt-4o"),
            &alice.access,
        )
        .await?;
    let starts: Vec<i64> = daily.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["bucket_start"].as_i64().unwrap())
        .collect();
    assert_eq!(starts, [JAN, JAN + day], "{daily:?}");
    assert_eq!(daily.body["totals"]["cost_micros"], 3_000_000);

    let csv = env
        .get(
            &format!("{path}?{window}&group_by=model&format=csv"),
            &alice.access,
        )
        .await?;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"), "{csv:?}");
    assert!(
        csv.disposition.starts_with("attachment; filename="),
        "{csv:?}"
    );
    let mut lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        lines.remove(0),
        "model,requests,errors,input_tokens,output_tokens,cache_read_tokens,\
         cache_write_tokens,reasoning_tokens,cost_micros,cost_usd"
    );
    lines.sort();
    assert_eq!(
        lines,
        [
            "claude,1,0,1000,200,100,0,50,500001,0.500001",
            "gpt-4o,2,0,2000,400,200,0,100,3000000,3.000000"
        ]
    );

    // The organization view adds workspaces; Bob's usage is his alone.
    let org = env
        .get(
            &format!("/orgs/{}/usage?{window}&group_by=workspace", alice.org),
            &alice.access,
        )
        .await?;
    assert_eq!(org.len(), 1, "{org:?}");
    assert_eq!(org.body["data"][0]["workspace_id"], alice.ws.as_str());
    let bobs = env
        .get(
            &format!("/workspaces/{}/usage?{window}", bob.ws),
            &bob.access,
        )
        .await?;
    assert_eq!(bobs.body["totals"]["cost_micros"], 42);

    for (query, param) in [
        ("since=2025-02-01&until=2025-01-01", "since"),
        ("since=2020-01-01&until=2025-01-01", "since"),
        ("since=2025-01-01&until=2025-03-01&bucket=hour", "since"),
        ("since=last-week", "since"),
        ("bucket=week", "bucket"),
        ("group_by=workspace", "group_by"),
        ("format=xml", "format"),
        ("workspace_id=x", "workspace_id"),
    ] {
        let reply = env.get(&format!("{path}?{query}"), &alice.access).await?;
        assert_eq!(
            (reply.status, reply.code(), reply.param()),
            (400, "invalid_value", param),
            "{query}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn invoices_add_up_to_the_ledger() -> anyhow::Result<()> {
    let env = Env::start().await?;
    let alice = env.signup("alice@example.com").await?;
    let bob = env.signup("bob@example.com").await?;
    // Costs chosen so that any float on the way would show: sums of odd micro-units.
    let costs = [
        ("gpt-4o", 333_333),
        ("gpt-4o", 333_334),
        ("gpt-4o", 1),
        ("claude-sonnet-4-5", 7_777_777),
        ("claude-sonnet-4-5", 1),
        ("gemini-2.5-flash", 0),
    ];
    let mut rows: Vec<UsageRecord> = costs
        .iter()
        .enumerate()
        .map(|(i, (model, cost))| usage(&alice, model, JAN + i as i64 * 3_600_000, *cost))
        .collect();
    let mut failed = usage(&alice, "gpt-4o", FEB - 1, 10);
    failed.error_class = Some("upstream_error".into());
    rows.push(failed);
    // Outside the month or the workspace: never on Alice's January invoice.
    rows.push(usage(&alice, "gpt-4o", JAN - 1, 1_000_000));
    rows.push(usage(&alice, "gpt-4o", FEB, 1_000_000));
    rows.push(usage(&bob, "gpt-4o", JAN, 1_000_000));
    env.store.insert_usage(&rows).await?;

    let path = format!("/workspaces/{}/invoices/2025-01", alice.ws);
    let invoice = env.get(&path, &alice.access).await?;
    assert_eq!(invoice.status, 200, "{invoice:?}");
    let b = &invoice.body;
    assert_eq!(b["object"], "invoice");
    assert_eq!(b["currency"], "USD");
    assert_eq!(b["month"], "2025-01");
    assert_eq!(b["status"], "closed");
    assert_eq!(b["workspace_id"], alice.ws.as_str());
    assert_eq!(b["org_id"], alice.org.as_str());
    assert_eq!(
        (b["period_start"].as_i64(), b["period_end"].as_i64()),
        (Some(JAN), Some(FEB))
    );
    assert!(b["price_catalog_date"].is_string());

    let expected: i64 = costs.iter().map(|(_, c)| c).sum::<i64>() + 10;
    assert_eq!(b["subtotal_micros"], expected);
    assert_eq!(b["total_micros"], expected);
    assert_eq!(b["subtotal_usd"], "8.444456");
    let lines = b["lines"].as_array().unwrap();
    let line_sum: i64 = lines
        .iter()
        .map(|l| l["amount_micros"].as_i64().unwrap())
        .sum();
    assert_eq!(line_sum, expected);
    let gpt = lines.iter().find(|l| l["model"] == "gpt-4o").unwrap();
    assert_eq!(gpt["requests"], 4);
    assert_eq!(gpt["amount_micros"], 666_678);
    assert_eq!(gpt["input_tokens"], 4000);
    assert_eq!(gpt["cache_read_tokens"], 400);
    assert_eq!(lines.len(), 3);

    // The ledger's own total for the same month and workspace agrees.
    let filter = morn_store::UsageFilter {
        workspace_id: Some(alice.ws.clone()),
        since: JAN,
        until: FEB,
        ..Default::default()
    };
    assert_eq!(env.store.usage_total(&filter).await?.cost_micros, expected);

    let csv = env
        .get(&format!("{path}?format=csv"), &alice.access)
        .await?;
    assert!(csv.content_type.starts_with("text/csv"), "{csv:?}");
    assert!(csv.disposition.contains("2025-01"), "{csv:?}");
    let text: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        text[0],
        "item,model,requests,input_tokens,output_tokens,cache_read_tokens,\
         cache_write_tokens,reasoning_tokens,amount_micros,amount_usd,currency"
    );
    assert_eq!(text.len(), 5);
    assert_eq!(
        text[4],
        "subtotal,,7,7000,1400,700,0,350,8444456,8.444456,USD"
    );

    // An empty month is a zero invoice, the running month is open, bad months refused.
    let empty = env
        .get(
            &format!("/workspaces/{}/invoices/2024-06", alice.ws),
            &alice.access,
        )
        .await?;
    assert_eq!(empty.body["subtotal_micros"], 0);
    assert_eq!(empty.body["lines"], json!([]));
    let this_month = env
        .get(&format!("/workspaces/{}/usage", alice.ws), &alice.access)
        .await?;
    assert_eq!(this_month.status, 200);
    for bad in ["2025-13", "2025-1", "january", "1969-12"] {
        let reply = env
            .get(
                &format!("/workspaces/{}/invoices/{bad}", alice.ws),
                &alice.access,
            )
            .await?;
        assert_eq!((reply.status, reply.param()), (400, "month"), "{bad}");
    }
    Ok(())
}
