//! `zkattest relayer serve`: the relayer service (same as the `zkattest-relayer` binary).

use std::path::PathBuf;

use anyhow::Context;

/// Relayer subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum RelayerCommand {
    /// Run the relayer until SIGINT/SIGTERM. Configuration: the TOML file, then
    /// ZKATTEST_RELAYER_* variables; the key and the API token come from the environment.
    #[command(
        after_help = "Example:\n  ZKATTEST_RELAYER_KEY=0x... ZKATTEST_RELAYER_TOKEN=$(openssl rand -hex 16) \\\n    zkattest relayer serve --config relayer.toml"
    )]
    Serve {
        /// Configuration file (see docs/relayer.md).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub fn run(c: RelayerCommand) -> anyhow::Result<()> {
    match c {
        RelayerCommand::Serve { config } => {
            zkattest_relayer::init_logging();
            let cfg = zkattest_relayer::Config::load(config.as_deref())?;
            super::chain::block_on(zkattest_relayer::serve(cfg))?.context("relayer")
        }
    }
}
