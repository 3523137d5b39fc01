//! Startup in named steps: connect the store, build the state, bind, serve until a
//! signal, drain. SIGHUP (or `POST /api/v1/admin/reload`) reloads routing.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use morn_gateway::{DeploymentSpec, Gateway, RouteSpec};
use morn_providers::Provider;
use morn_server::metering::{Meter, MeterSettings};
use morn_server::tenancy::Tenancy;
use morn_server::{AppState, AuthSettings, ReloadHook, ServeOptions};

use crate::config::Settings;

pub async fn serve(settings: Settings, config_path: Option<PathBuf>) -> anyhow::Result<()> {
    let started = Instant::now();
    morn_providers::install_crypto_provider();
    let store = crate::identity::open_store(&settings).await?;
    bootstrap_if_empty(&settings, &store).await?;
    let identity = crate::identity::build_identity(&settings, store.clone()).await?;
    let refresher = identity
        .keys
        .spawn_refresher(store.clone(), settings.key_refresh);
    let specs = route_specs(&settings).map_err(anyhow::Error::msg)?;
    let gateway = Arc::new(Gateway::new(&specs, settings.health.clone()));
    // Catalog models per organization, over the same config routes (and providers).
    let tenancy = Tenancy::start(specs, settings.health.clone(), identity.clone());
    let reload = reload_hook(gateway.clone(), tenancy.clone(), config_path);
    let meter = build_meter(&settings, store.clone()).await?;
    // Records a killed predecessor left in the ledger reach the store before any
    // budget is seeded from it.
    meter.drain().await;
    let background = meter.spawn_background();
    let state = build_state(
        &settings,
        identity,
        gateway,
        tenancy,
        meter.clone(),
        reload.clone(),
    )?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, startup_ms = started.elapsed().as_millis() as u64, models = settings.models.len(), "morn is ready");
    // The one line on stdout, for scripts and tests that started us on port 0.
    println!("morn listening on http://{addr}");
    tokio::spawn(reload_on_sighup(reload));
    let options = ServeOptions {
        shutdown_grace: settings.shutdown_grace,
        idle_timeout: settings.idle_timeout,
        read_timeout: settings.read_timeout,
    };
    let drained = morn_server::serve(listener, state, options, shutdown_signal()).await?;
    refresher.abort();
    meter.stop(background).await;
    store.close().await;
    tracing::info!(drained, "morn stopped");
    Ok(())
}

/// First start with `[bootstrap] email`: create the first organization and show its
/// secrets once, on stderr (stdout carries only the `listening on` line).
async fn bootstrap_if_empty(
    settings: &Settings,
    store: &Arc<dyn morn_store::Store>,
) -> anyhow::Result<()> {
    let Some((email, org, workspace)) = &settings.bootstrap else {
        return Ok(());
    };
    if !crate::admin::is_empty(store).await? {
        return Ok(());
    }
    let report = match crate::admin::create_first_org(store.clone(), org, workspace, email).await {
        Ok(report) => report,
        // Another replica starting at the same moment won the race: nothing to do.
        Err(_) if !crate::admin::is_empty(store).await? => return Ok(()),
        Err(err) => return Err(err),
    };
    eprint!("first start: created the first organization\n{report}");
    tracing::info!(org = %org, "bootstrapped the first organization");
    Ok(())
}

fn route_specs(settings: &Settings) -> Result<Vec<RouteSpec>, String> {
    let mut providers = HashMap::new();
    for p in &settings.providers {
        providers.insert(p.name.clone(), Arc::new(Provider::new(p.clone())?));
    }
    settings
        .models
        .iter()
        .map(|m| {
            let deployments = m
                .deployments
                .iter()
                .map(|d| {
                    let provider = providers
                        .get(&d.provider)
                        .ok_or_else(|| format!("unknown provider {}", d.provider))?;
                    Ok(DeploymentSpec {
                        provider: provider.clone(),
                        upstream_model: d.upstream_model.clone(),
                        weight: d.weight,
                        rpm: d.rpm,
                        tpm: d.tpm,
                        context_window: d.context_window,
                        cost: d.cost,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok(RouteSpec {
                name: m.name.clone(),
                aliases: m.aliases.clone(),
                deployments,
                strategy: m.strategy,
                fallbacks: m.fallbacks.clone(),
                retry: m.retry.clone(),
                timeouts: m.timeouts,
                continue_on_failure: m.continue_on_failure,
            })
        })
        .collect()
}

/// Counters (in process, or Redis in cluster mode), the ledger in the data dir, the
/// shipped price catalog.
async fn build_meter(
    settings: &Settings,
    store: Arc<dyn morn_store::Store>,
) -> anyhow::Result<Arc<Meter>> {
    use morn_meter::counters::{Counters, LocalCounters, RedisCounters, RedisFailure};
    let m = &settings.metering;
    let counters: Arc<dyn Counters> = match &settings.redis_url {
        Some(url) => {
            let failure = match m.redis_failure {
                crate::config::RedisFailureMode::Open => RedisFailure::Open,
                crate::config::RedisFailureMode::Closed => RedisFailure::Closed,
            };
            let options = morn_meter::counters::RedisOptions {
                timeout: Duration::from_millis(m.redis_timeout_ms.clamp(10, 10_000)),
                ..Default::default()
            };
            Arc::new(
                RedisCounters::connect_with(url.expose(), failure, m.replicas, options)
                    .await
                    .context("invalid metering.redis_url")?,
            )
        }
        None => Arc::new(LocalCounters::new()),
    };
    let mut ledger = morn_server::metering::ledger_config(&settings.data_dir);
    ledger.flush_interval = Duration::from_millis(m.ledger_flush_ms.clamp(10, 60_000));
    ledger.max_backlog = m.ledger_max_backlog.max(1);
    ledger.fsync = m.ledger_fsync;
    let ledger = morn_meter::ledger::Ledger::open(ledger).with_context(|| {
        format!(
            "cannot open the usage ledger in {}",
            settings.data_dir.display()
        )
    })?;
    let meter = Meter::new(
        store,
        counters,
        ledger,
        morn_meter::prices::PriceCatalog::builtin(),
        MeterSettings {
            default_max_output_tokens: m.default_max_output_tokens.max(1),
            policy_refresh: Duration::from_millis(m.policy_refresh_ms.clamp(50, 600_000)),
        },
    )
    .await?;
    Ok(meter)
}

fn build_state(
    settings: &Settings,
    identity: Arc<morn_server::identity::Identity>,
    gateway: Arc<Gateway>,
    tenancy: Arc<Tenancy>,
    meter: Arc<Meter>,
    reload: ReloadHook,
) -> anyhow::Result<AppState> {
    let master_key = settings.master_key.clone().context("no master key")?;
    Ok(AppState {
        gateway,
        tenancy,
        meter,
        identity,
        auth: Arc::new(AuthSettings { master_key }),
        max_body_bytes: settings.max_body_bytes,
        reload: Some(reload),
    })
}

/// Re-reads the config file and environment and swaps the routing table. Server
/// settings (listen address, data dir, master key) need a restart and are not touched.
fn reload_hook(
    gateway: Arc<Gateway>,
    tenancy: Arc<Tenancy>,
    config_path: Option<PathBuf>,
) -> ReloadHook {
    Arc::new(move || {
        let settings = crate::commands::load_settings(config_path.as_deref(), None)
            .map_err(|problems| problems.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        let specs = route_specs(&settings).map_err(|e| vec![e])?;
        gateway.reload(&specs);
        tenancy.set_config_routes(specs.clone());
        tracing::info!(models = specs.len(), "routing configuration reloaded");
        Ok(specs.len())
    })
}

async fn reload_on_sighup(reload: ReloadHook) {
    #[cfg(unix)]
    {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            let hook = reload.clone();
            match tokio::task::spawn_blocking(move || hook()).await {
                Ok(Ok(_)) => {}
                Ok(Err(problems)) => {
                    for problem in problems {
                        tracing::error!(%problem, "reload refused: keeping the running configuration");
                    }
                }
                Err(err) => tracing::error!(error = %err, "reload task failed"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = reload;
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
