//! The `cricket` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, DEFAULT_TOML};
use crate::daemon::{self, ServeError};

/// Exit code for a configuration that cannot be used.
const EXIT_BAD_CONFIG: u8 = 2;

#[derive(Parser)]
#[command(name = "cricket", version, about = "A Kubernetes CRI runtime over containerd")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the CRI on the configured unix socket.
    Serve {
        /// The config file [default: /etc/cricket/config.toml; missing means all defaults].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Check that this node has what cricket needs; prints each requirement as ok or FAIL
    /// with the fix, and exits 0 when all are met, 1 otherwise.
    Check {
        /// The config file [default: /etc/cricket/config.toml; missing means all defaults].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Print the full default configuration, commented.
    Default,
}

pub fn run() -> ExitCode {
    match Cli::parse().command {
        Command::Config { action: ConfigAction::Default } => {
            print!("{DEFAULT_TOML}");
            ExitCode::SUCCESS
        }
        Command::Serve { config } => serve(config),
        Command::Check { config } => check(config),
    }
}

fn check(path: Option<PathBuf>) -> ExitCode {
    let config = match config::load(path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cricket: {e}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cricket: start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let findings = runtime.block_on(crate::check::run(&config));
    print!("{}", crate::check::render(&findings));
    if findings.iter().all(crate::check::Finding::passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn serve(path: Option<PathBuf>) -> ExitCode {
    let file = path.clone().unwrap_or_else(|| config::DEFAULT_PATH.into());
    let result = config::load(path.as_deref())
        .map_err(ServeError::from)
        .and_then(|c| daemon::serve(c, &file));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(ServeError::Config(e)) => {
            eprintln!("cricket: {e}");
            ExitCode::from(EXIT_BAD_CONFIG)
        }
        Err(e) => {
            tracing::error!(error = %e, "cricket failed");
            eprintln!("cricket: {e}");
            ExitCode::FAILURE
        }
    }
}
