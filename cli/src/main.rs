//! `zkattest`: prove ML inference in zero knowledge and attest it on an EVM chain.

mod commands;
mod output;
mod progress;

use clap::{Parser, Subcommand};

/// zkattest: prove that an ONNX model produced an output, in zero knowledge.
#[derive(Parser, Debug)]
#[command(name = "zkattest", version, about, long_about = None)]
struct Cli {
    /// Print one JSON object instead of human-readable text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Import an ONNX model, quantize it and plan its shards.
    #[command(after_help = "Example:\n  zkattest compile --model models/digits_mlp")]
    Compile(commands::compile::Args),
    /// Pick the fixed-point scale from sample inputs and report accuracy against float.
    #[command(
        after_help = "Example:\n  zkattest calibrate --model models/digits_mlp --input models/digits_mlp/input.json"
    )]
    Calibrate(commands::calibrate::Args),
    /// Generate proving and verifying keys for every shard.
    #[command(after_help = "Example:\n  zkattest setup --artifacts zkattest-artifacts/digits_mlp")]
    Setup(commands::setup::Args),
    /// Prove one inference (all shards).
    #[command(
        after_help = "Example:\n  zkattest prove --artifacts zkattest-artifacts/digits_mlp --input models/digits_mlp/input.json"
    )]
    Prove(commands::prove::Args),
    /// Verify an inference proof natively.
    #[command(
        after_help = "Example:\n  zkattest verify --artifacts zkattest-artifacts/digits_mlp --proof zkattest-artifacts/digits_mlp/proof.json"
    )]
    Verify(commands::verify::Args),
    /// Run the whole pipeline on a bundled model (no arguments needed).
    #[command(after_help = "Example:\n  zkattest demo --json")]
    Demo(commands::demo::Args),
    /// Aggregate an inference's shard proofs into one EVM-verifiable KZG proof.
    #[command(
        after_help = "Example:\n  zkattest aggregate --artifacts zkattest-artifacts/digits_mlp --proof zkattest-artifacts/digits_mlp/proof.json"
    )]
    Aggregate(commands::aggregation::AggregateArgs),
    /// Write the universal Solidity verifier and compile it with forge.
    #[command(name = "gen-verifier", after_help = "Example:\n  zkattest gen-verifier --json")]
    GenVerifier(commands::aggregation::GenVerifierArgs),
    /// Check an aggregated proof in a local EVM and print the gas used.
    #[command(
        name = "verify-evm",
        after_help = "Example:\n  zkattest verify-evm --proof zkattest-artifacts/digits_mlp/proof.agg.json"
    )]
    VerifyEvm(commands::aggregation::VerifyEvmArgs),
    /// Compile, set up, prove and verify a model, and print the costs.
    #[command(
        after_help = "Example:\n  zkattest bench --model ../shared/models/4l_relu_conv_fc --json"
    )]
    Bench(commands::bench::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compile(a) => commands::compile::run(a, cli.json),
        Command::Calibrate(a) => commands::calibrate::run(a, cli.json),
        Command::Setup(a) => commands::setup::run(a, cli.json),
        Command::Prove(a) => commands::prove::run(a, cli.json),
        Command::Verify(a) => commands::verify::run(a, cli.json),
        Command::Bench(a) => commands::bench::run(a, cli.json),
        Command::Demo(a) => commands::demo::run(a, cli.json),
        Command::Aggregate(a) => commands::aggregation::aggregate(a, cli.json),
        Command::GenVerifier(a) => commands::aggregation::gen_verifier(a, cli.json),
        Command::VerifyEvm(a) => commands::aggregation::verify_evm(a, cli.json),
    };
    if let Err(e) = result {
        output::error(&e, cli.json);
        std::process::exit(1);
    }
}
