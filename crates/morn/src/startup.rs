//! Startup in named steps: connect the store, build the state, bind, serve until a
//! signal, drain.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use morn_gateway::{Deployment, Gateway, ModelRegistry};
use morn_providers::Provider;
use morn_server::{AppState, AuthSettings, ServeOptions};
use morn_store::SqliteStore;

use crate::config::Settings;

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let started = Instant::now();
    morn_providers::install_crypto_provider();
    let store = connect_store(&settings).await?;
    let state = build_state(&settings, store.clone())?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, startup_ms = started.elapsed().as_millis() as u64, models = settings.models.len(), "morn is ready");
    // The one line on stdout, for scripts and tests that started us on port 0.
    println!("morn listening on http://{addr}");
    let options = ServeOptions {
        shutdown_grace: settings.shutdown_grace,
    };
    let drained = morn_server::serve(listener, state, options, shutdown_signal()).await?;
    store.close().await;
    tracing::info!(drained, "morn stopped");
    Ok(())
}

async fn connect_store(settings: &Settings) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(&settings.data_dir)
        .await
        .with_context(|| {
            format!(
                "cannot open the database in {}",
                settings.data_dir.display()
            )
        })
}

fn build_state(settings: &Settings, store: SqliteStore) -> anyhow::Result<AppState> {
    let mut providers = std::collections::HashMap::new();
    for p in &settings.providers {
        let provider = Provider::new(p.clone()).map_err(anyhow::Error::msg)?;
        providers.insert(p.name.clone(), Arc::new(provider));
    }
    let mut registry = ModelRegistry::new(unix_now());
    for m in &settings.models {
        let provider = providers
            .get(&m.provider)
            .context("model refers to an unknown provider")?;
        registry.insert(
            m.name.clone(),
            Deployment {
                provider: provider.clone(),
                upstream_model: m.upstream_model.clone(),
            },
        );
    }
    let master_key = settings.master_key.clone().context("no master key")?;
    Ok(AppState {
        gateway: Arc::new(Gateway::new(registry)),
        store,
        auth: Arc::new(AuthSettings { master_key }),
        max_body_bytes: settings.max_body_bytes,
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
