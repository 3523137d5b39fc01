// The billing tests' harness, shared by `platform_billing.rs` and
// `platform_usage_reports.rs` through `include!` (each test file is its own crate). It
// serves the real router over a store the test can write usage into (see `Env`).

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
            idle_timeout: Duration::from_secs(75),
            read_timeout: Duration::from_secs(30),
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
        client_request_id: None,
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
