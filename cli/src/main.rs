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
        after_help = "Examples:\n  zkattest prove --artifacts zkattest-artifacts/digits_mlp --input models/digits_mlp/input.json\n  zkattest prove --artifacts zkattest-artifacts/digits_mlp --input models/digits_mlp/input.json \\\n    --cluster postgres://prover@db/zk --store file:///srv/zk --aggregate"
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
    /// Deploy the universal verifier and the attestation registry.
    #[command(
        after_help = "Example:\n  ZKATTEST_PRIVATE_KEY=0x... zkattest deploy --rpc-url http://127.0.0.1:8545"
    )]
    Deploy(commands::chain::DeployArgs),
    /// Register a model: digest, output scale and hashes computed from its artifacts.
    #[command(
        after_help = "Example:\n  zkattest register --artifacts zkattest-artifacts/digits_mlp --attestation zkattest-artifacts/digits_mlp/proof.attestation.json --uri ipfs://..."
    )]
    Register(commands::chain::RegisterArgs),
    /// Submit an attestation: directly, or through a relayer (--relayer URL).
    #[command(
        after_help = "Example:\n  zkattest submit --model-id 1 --attestation proof.attestation.json --relayer http://127.0.0.1:8645"
    )]
    Submit(commands::chain::SubmitArgs),
    /// Read attested outputs back, by inference id or by (model id, input).
    #[command(
        after_help = "Example:\n  zkattest query --model-id 1 --input models/digits_mlp/input.json --artifacts zkattest-artifacts/digits_mlp --opening proof.opening.json"
    )]
    Query(commands::chain::QueryArgs),
    /// Deploy on a local anvil and print deploy, verify and verify-and-store gas.
    #[command(name = "gas-report", after_help = "Example:\n  zkattest gas-report --json")]
    GasReport(commands::chain::GasReportArgs),
    /// Run a cluster worker: claim shard and aggregation jobs from the queue and prove them.
    #[command(
        after_help = "Example:\n  ZKATTEST_CLUSTER=postgres://prover@db/zk zkattest worker --store s3://proofs/zk --concurrency 2"
    )]
    Worker(commands::cluster::WorkerArgs),
    /// Cluster queue status.
    #[command(subcommand)]
    Cluster(commands::cluster::ClusterCommand),
    /// The relayer service.
    #[command(subcommand)]
    Relayer(commands::relayer::RelayerCommand),
    /// The structured reference string: import a Powers of Tau ceremony, check a file.
    #[command(subcommand)]
    Srs(commands::srs::SrsCommand),
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
        Command::Deploy(a) => commands::chain::deploy_cmd(a, cli.json),
        Command::Register(a) => commands::chain::register_cmd(a, cli.json),
        Command::Submit(a) => commands::chain::submit_cmd(a, cli.json),
        Command::Query(a) => commands::chain::query_cmd(a, cli.json),
        Command::GasReport(a) => commands::chain::gas_report_cmd(a, cli.json),
        Command::Relayer(c) => commands::relayer::run(c),
        Command::Worker(a) => commands::cluster::worker(a, cli.json),
        Command::Cluster(c) => commands::cluster::run(c, cli.json),
        Command::Srs(c) => commands::srs::run(c, cli.json),
    };
    if let Err(e) = result {
        output::error(&e, cli.json);
        std::process::exit(1);
    }
}
