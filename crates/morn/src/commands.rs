//! One function per command.

use std::process::ExitCode;

use crate::cli::{
    AdminArgs, AdminCommand, Cli, Command, ConfigArgs, ConfigCommand, KeysArgs, KeysCommand,
    ServeArgs,
};
use crate::config::{self, Settings};
use crate::{logging, startup};

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Migrate(args) => migrate(args),
        Command::Config(ConfigCommand::Check { path }) => check(&path),
        Command::Admin(args) => admin(args),
        Command::Keys(args) => keys(args),
    }
}

fn admin(args: AdminArgs) -> ExitCode {
    if let AdminCommand::GenerateMasterKey = args.command {
        let (_, encoded) = morn_auth::MasterKey::generate();
        println!("{encoded}");
        return ExitCode::SUCCESS;
    }
    let Some(settings) = settings_or_report(&args.common) else {
        return ExitCode::from(2);
    };
    logging::init(settings.log_format, "warn");
    let for_rotation = settings.clone();
    with_store(&settings, |store| async move {
        match args.command {
            AdminCommand::Bootstrap {
                org,
                workspace,
                email,
            } => crate::admin::bootstrap(store, &org, &workspace, &email).await,
            AdminCommand::RotateMasterKey => {
                crate::admin::rotate_master_key(store, &for_rotation).await
            }
            AdminCommand::GenerateMasterKey => Ok(()),
        }
    })
}

fn keys(args: KeysArgs) -> ExitCode {
    let Some(settings) = settings_or_report(&args.common) else {
        return ExitCode::from(2);
    };
    logging::init(settings.log_format, "warn");
    with_store(&settings, |store| async move {
        match args.command {
            KeysCommand::Create {
                workspace,
                name,
                models,
                scopes,
                expires_in_days,
            } => {
                crate::admin::create_key(store, &workspace, &name, models, scopes, expires_in_days)
                    .await
            }
            KeysCommand::List { workspace } => crate::admin::list_keys(store, &workspace).await,
            KeysCommand::Revoke { id } => crate::admin::revoke_key(store, &id).await,
        }
    })
}

/// Opens the configured store, runs `f`, closes the store; exit 1 on error.
fn with_store<F, Fut>(settings: &Settings, f: F) -> ExitCode
where
    F: FnOnce(std::sync::Arc<dyn morn_store::Store>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let store = crate::identity::open_store(settings).await?;
            let outcome = f(store.clone()).await;
            store.close().await;
            outcome
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let Some(mut settings) = settings_or_report(&args.common) else {
        return ExitCode::from(2);
    };
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    if settings.master_key.is_none() {
        eprintln!(
            "error: no master key: set MORN_MASTER_KEY (or `master_key` in the config) to the admin API key"
        );
        return ExitCode::from(2);
    }
    logging::init(settings.log_format, &settings.log_level);
    match runtime().and_then(|rt| rt.block_on(startup::serve(settings, args.common.config.clone())))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "morn stopped with an error");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(args: ConfigArgs) -> ExitCode {
    let Some(settings) = settings_or_report(&args) else {
        return ExitCode::from(2);
    };
    logging::init(settings.log_format, &settings.log_level);
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let store = morn_store::SqliteStore::open(&settings.data_dir).await?;
            let version = store.schema_version().await?;
            println!(
                "database at {} is at schema version {version}",
                settings.data_dir.display()
            );
            Ok(())
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn check(path: &std::path::Path) -> ExitCode {
    let problems = match load_settings(Some(path), None) {
        Ok(settings) => {
            println!(
                "{}: OK ({} providers, {} models)",
                path.display(),
                settings.providers.len(),
                settings.models.len()
            );
            if settings.master_key.is_none() {
                println!(
                    "note: no master key is configured; set MORN_MASTER_KEY before `morn serve`"
                );
            }
            return ExitCode::SUCCESS;
        }
        Err(problems) => problems,
    };
    for problem in &problems {
        println!("{problem}");
    }
    println!(
        "{} problem{} found",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    ExitCode::from(1)
}

fn settings_or_report(args: &ConfigArgs) -> Option<Settings> {
    match load_settings(args.config.as_deref(), args.data_dir.clone()) {
        Ok(settings) => Some(settings),
        Err(problems) => {
            for problem in &problems {
                eprintln!("config error: {problem}");
            }
            None
        }
    }
}

pub(crate) fn load_settings(
    path: Option<&std::path::Path>,
    data_dir: Option<std::path::PathBuf>,
) -> Result<Settings, Vec<config::Problem>> {
    let loaded = config::load(
        path,
        std::env::vars().filter(|(k, _)| k.starts_with("MORN_")),
    );
    let mut problems = loaded.problems;
    let Some(config) = loaded.config else {
        return Err(problems);
    };
    let lookup = |name: &str| std::env::var(name).ok();
    match config::resolve(&config, &loaded.locator, &lookup) {
        Ok(mut settings) if problems.is_empty() => {
            if let Some(dir) = data_dir {
                settings.data_dir = dir;
            }
            Ok(settings)
        }
        Ok(_) => Err(problems),
        Err(more) => {
            problems.extend(more);
            Err(problems)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
