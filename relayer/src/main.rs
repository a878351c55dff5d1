//! `zkattest-relayer [config.toml]`: the relayer as its own process (also `zkattest relayer
//! serve`). Configuration: the optional TOML file, then `ZKATTEST_RELAYER_*` variables.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    zkattest_relayer::init_logging();
    let path = std::env::args_os().nth(1).map(std::path::PathBuf::from);
    let result = match zkattest_relayer::Config::load(path.as_deref()) {
        Ok(cfg) => zkattest_relayer::serve(cfg).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
