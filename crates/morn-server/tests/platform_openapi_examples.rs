//! Every request example in the platform API's OpenAPI document is a request the API
//! accepts: sent as written to a real server, in an order that creates what each one
//! names (the user Ada before she signs in, the `openai` provider before the model
//! routed to it), each gets its operation's documented success status.

mod common;
mod platform_support;

use std::collections::BTreeSet;

use common::TestEnv;
use platform_support::{Reply, call};
use reqwest::Method;
use serde_json::Value;

/// The operations with an example, in the order they run. `{id}` is the thing the
/// `POST` before it created; `{ws}` is the second workspace (the one the workspace
/// example creates) for membership, whose default workspace Ada is already in.
const ORDER: &[(&str, &str)] = &[
    ("post", "/auth/signup"),
    ("post", "/orgs/{org}/workspaces"),
    ("post", "/orgs/{org}/users"),
    ("post", "/auth/login"),
    ("post", "/workspaces/{ws}/members"),
    ("patch", "/workspaces/{ws}/members/{user_id}"),
    ("post", "/workspaces/{ws}/keys"),
    ("patch", "/workspaces/{ws}/keys/{id}"),
    ("post", "/workspaces/{ws}/keys/{id}/rotate"),
    ("post", "/orgs/{org}/providers"),
    ("patch", "/orgs/{org}/providers/{id}"),
    ("post", "/orgs/{org}/models"),
    ("patch", "/orgs/{org}/models/{id}"),
    ("post", "/workspaces/{ws}/limits"),
    ("patch", "/workspaces/{ws}/limits/{id}"),
    ("post", "/workspaces/{ws}/budgets"),
    ("patch", "/workspaces/{ws}/budgets/{id}"),
    ("post", "/orgs/{org}/prices"),
    ("patch", "/orgs/{org}/prices/{id}"),
    ("post", "/users/{id}/password"),
    ("post", "/auth/password"),
];

/// What the examples so far created, to fill the next paths with.
#[derive(Default)]
struct Ids {
    token: String,
    org: String,
    ws: String,
    second_ws: String,
    ada: String,
    last: String,
}

impl Ids {
    fn path(&self, template: &str) -> String {
        let membership = template.contains("/members");
        let ws = if membership {
            &self.second_ws
        } else {
            &self.ws
        };
        let id = if template == "/users/{id}/password" {
            &self.ada
        } else {
            &self.last
        };
        template
            .replace("{org}", &self.org)
            .replace("{ws}", ws)
            .replace("{user_id}", &self.ada)
            .replace("{id}", id)
    }

    /// Remembers what a reply created.
    fn learn(&mut self, template: &str, reply: &Reply) {
        match template {
            "/auth/signup" => {
                self.token = reply.str("/access_token");
                self.org = reply.str("/org/id");
                self.ws = reply.str("/workspace/id");
            }
            "/orgs/{org}/workspaces" => self.second_ws = reply.str("/id"),
            "/orgs/{org}/users" => self.ada = reply.str("/id"),
            _ if !template.ends_with("}") && !template.ends_with("/rotate") => {
                let id = reply.str("/id");
                if !id.is_empty() {
                    self.last = id;
                }
            }
            _ => {}
        }
    }
}

fn method(name: &str) -> Method {
    match name {
        "patch" => Method::PATCH,
        _ => Method::POST,
    }
}

#[tokio::test]
async fn every_request_example_is_accepted_as_written() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let doc: Value = env
        .http
        .get(format!("{}/api/v1/openapi.json", env.base))
        .send()
        .await?
        .json()
        .await?;
    let paths = doc["paths"]
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("no paths"))?;

    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for (verb, op) in item.as_object().into_iter().flatten() {
            if !op["requestBody"]["content"]["application/json"]["example"].is_null() {
                documented.insert((verb.clone(), path.trim_start_matches("/api/v1").to_owned()));
            }
        }
    }
    let ordered: BTreeSet<_> = ORDER
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        documented, ordered,
        "every example, and only those, runs here"
    );

    let mut ids = Ids::default();
    for (verb, template) in ORDER {
        let op = &paths[&format!("/api/v1{template}")][*verb];
        let example = op["requestBody"]["content"]["application/json"]["example"].clone();
        let success: Vec<u16> = op["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(status, _)| status.parse().ok())
            .filter(|status| (200..300).contains(status))
            .collect();
        let token = (!ids.token.is_empty()).then_some(ids.token.as_str());
        let path = ids.path(template);
        let reply = call(&env, method(verb), &path, token, Some(example.clone())).await?;
        assert!(
            success.contains(&reply.status),
            "{verb} {template} with its example {example} answered {reply:?}, documented {success:?}"
        );
        ids.learn(template, &reply);
    }
    Ok(())
}
