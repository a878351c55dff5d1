//! A local EVM (revm) to deploy the verifier and check proofs, reporting gas.

use revm::context::result::{ExecutionResult, Output};
use revm::context::TxEnv;
use revm::database::InMemoryDB;
use revm::primitives::TxKind;
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};

use crate::{Result, VerifierGenError};

/// Gas limit of the verification call: the hardened verifier must decide well within it,
/// so a rejection that burns it all shows up as a [`CallStatus::Halted`] out-of-gas.
pub const CALL_GAS_LIMIT: u64 = 30_000_000;

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallStatus {
    /// The call returned.
    Success,
    /// The call reverted (the verifier's answer to an invalid proof).
    Reverted,
    /// The EVM halted the call (out of gas, invalid opcode, ...).
    Halted(String),
}

/// The outcome of one verification call, read from the EVM's result rather than a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmOutcome {
    /// Gas of the whole call transaction (21,000 base + calldata + execution).
    pub gas_used: u64,
    /// How it ended.
    pub status: CallStatus,
}

impl EvmOutcome {
    /// True when the verifier accepted the proof.
    pub fn accepted(&self) -> bool {
        self.status == CallStatus::Success
    }
}

/// Deploys `deployment_code` in a fresh in-memory EVM and calls it with `calldata`
/// (gas limit [`CALL_GAS_LIMIT`]). A failed deployment is an error; the call's outcome,
/// accepted or not, is returned.
pub fn deploy_and_execute(deployment_code: Vec<u8>, calldata: Vec<u8>) -> Result<EvmOutcome> {
    let mut evm = Context::mainnet().with_db(InMemoryDB::default()).build_mainnet();
    let create = TxEnv {
        gas_limit: CALL_GAS_LIMIT * 2,
        kind: TxKind::Create,
        data: deployment_code.into(),
        ..Default::default()
    };
    let contract = match evm.transact_commit(create).map_err(|e| evm_error("deploy", e))? {
        ExecutionResult::Success { output: Output::Create(_, Some(address)), .. } => address,
        other => return Err(VerifierGenError::Evm(format!("deployment failed: {other:?}"))),
    };
    let call = TxEnv {
        gas_limit: CALL_GAS_LIMIT,
        kind: TxKind::Call(contract),
        data: calldata.into(),
        nonce: 1,
        ..Default::default()
    };
    Ok(match evm.transact_commit(call).map_err(|e| evm_error("call", e))? {
        ExecutionResult::Success { gas_used, .. } => {
            EvmOutcome { gas_used, status: CallStatus::Success }
        }
        ExecutionResult::Revert { gas_used, .. } => {
            EvmOutcome { gas_used, status: CallStatus::Reverted }
        }
        ExecutionResult::Halt { reason, gas_used } => {
            EvmOutcome { gas_used, status: CallStatus::Halted(format!("{reason:?}")) }
        }
    })
}

/// [`deploy_and_execute`] for a proof that must verify: the gas of the accepted call, or
/// [`VerifierGenError::Rejected`] with the outcome.
pub fn deploy_and_call(deployment_code: Vec<u8>, calldata: Vec<u8>) -> Result<u64> {
    let outcome = deploy_and_execute(deployment_code, calldata)?;
    if outcome.accepted() {
        Ok(outcome.gas_used)
    } else {
        Err(VerifierGenError::Rejected(outcome))
    }
}

fn evm_error(what: &str, e: impl std::fmt::Debug) -> VerifierGenError {
    VerifierGenError::Evm(format!("{what}: {e:?}"))
}

/// Reads the creation bytecode of a contract from a forge artifact
/// (`contracts/out/<File>.sol/<Contract>.json`).
pub fn forge_bytecode(artifact: &std::path::Path) -> Result<Vec<u8>> {
    Ok(zkattest_chain::forge::bytecode(artifact)?)
}

/// Runtime bytecode size of a forge artifact (`deployedBytecode.object`), for EIP-170.
pub fn forge_runtime_size(artifact: &std::path::Path) -> Result<usize> {
    Ok(zkattest_chain::forge::runtime_size(artifact)?)
}
