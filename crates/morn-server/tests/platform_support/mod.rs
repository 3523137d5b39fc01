//! Helpers for the platform API suites: JSON calls with a bearer token, sign-up and
//! sign-in shortcuts.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the helpers"
)]

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestEnv;

/// One answer: status and JSON body (`null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// The platform error code, if the body is an error.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn str(&self, pointer: &str) -> String {
        self.body
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }
}

/// Calls `/api/v1{path}`.
pub async fn call(
    env: &TestEnv,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<Reply> {
    let mut request = env
        .http
        .request(method, format!("{}/api/v1{path}", env.base))
        .header("user-agent", "platform-tests/1.0");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)?
    };
    Ok(Reply { status, body })
}

pub async fn get(env: &TestEnv, path: &str, token: &str) -> anyhow::Result<Reply> {
    call(env, Method::GET, path, Some(token), None).await
}

pub async fn post(env: &TestEnv, path: &str, token: &str, body: Value) -> anyhow::Result<Reply> {
    call(env, Method::POST, path, Some(token), Some(body)).await
}

pub async fn patch(env: &TestEnv, path: &str, token: &str, body: Value) -> anyhow::Result<Reply> {
    call(env, Method::PATCH, path, Some(token), Some(body)).await
}

pub async fn delete(env: &TestEnv, path: &str, token: &str) -> anyhow::Result<Reply> {
    call(env, Method::DELETE, path, Some(token), None).await
}

pub async fn public(env: &TestEnv, path: &str, body: Value) -> anyhow::Result<Reply> {
    call(env, Method::POST, path, None, Some(body)).await
}

/// A signed-up user with their personal organization and default workspace.
#[derive(Debug, Clone)]
pub struct Account {
    pub user_id: String,
    pub email: String,
    pub access: String,
    pub refresh: String,
    pub org: String,
    pub ws: String,
}

pub const PASSWORD: &str = "correct horse battery";

pub async fn signup(env: &TestEnv, email: &str) -> anyhow::Result<Account> {
    let reply = public(
        env,
        "/auth/signup",
        json!({"email": email, "password": PASSWORD, "name": "Test User"}),
    )
    .await?;
    anyhow::ensure!(reply.status == 201, "signup: {reply:?}");
    Ok(Account {
        user_id: reply.str("/user/id"),
        email: email.to_owned(),
        access: reply.str("/access_token"),
        refresh: reply.str("/refresh_token"),
        org: reply.str("/org/id"),
        ws: reply.str("/workspace/id"),
    })
}

/// Signs in; returns `(access, refresh)`.
pub async fn login(env: &TestEnv, email: &str, password: &str) -> anyhow::Result<(String, String)> {
    let reply = public(
        env,
        "/auth/login",
        json!({"email": email, "password": password}),
    )
    .await?;
    anyhow::ensure!(reply.status == 200, "login: {reply:?}");
    Ok((reply.str("/access_token"), reply.str("/refresh_token")))
}

/// A chat completion with `key`; returns the status and the error code, if any.
pub async fn chat(env: &TestEnv, key: &str, model: &str) -> anyhow::Result<(u16, String)> {
    let response = env
        .http
        .post(format!("{}/v1/chat/completions", env.base))
        .bearer_auth(key)
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"].as_str().unwrap_or("").to_owned();
    Ok((status, code))
}
