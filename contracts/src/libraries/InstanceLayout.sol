// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {OutputCodec} from "./OutputCodec.sol";

/// @title Positions of the aggregated proof's public instances.
/// @notice Instances, each one 32-byte big-endian field element, in this order:
/// `[acc_0 .. acc_{L-1}, modelDigest, inputCommitment, word_0 .. word_{W-1}, outputCommitment]`
/// with L accumulator limbs, W = ceil(M / 15) packed output words for M output slots
/// (OutputCodec defines the packing) and the Poseidon commitment to all the outputs (which
/// binds them when a model has more than M). L and M are parameters of the registry
/// (zkattest: 12 and 30, hence W = 2 and 17 instances), so a change of either on the circuit
/// side needs no code change; the packing itself is fixed, in OutputCodec and
/// prover/src/aggregate/circuit.rs.
library InstanceLayout {
    /// @notice BN254 scalar field modulus r: every instance, hence every model digest, is below it.
    uint256 internal constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice Index of the model digest, compared with the registered `vkHash`.
    /// @param accLimbs Number of accumulator limbs.
    /// @return The index.
    function modelDigestIndex(uint256 accLimbs) internal pure returns (uint256) {
        return accLimbs;
    }

    /// @notice Index of the input commitment.
    /// @param accLimbs Number of accumulator limbs.
    /// @return The index.
    function inputCommitmentIndex(uint256 accLimbs) internal pure returns (uint256) {
        return accLimbs + 1;
    }

    /// @notice Index of the first packed output word (the one that also holds the count).
    /// @param accLimbs Number of accumulator limbs.
    /// @return The index.
    function firstOutputWordIndex(uint256 accLimbs) internal pure returns (uint256) {
        return accLimbs + 2;
    }

    /// @notice Number of packed output words for `maxOutputs` output slots.
    /// @param maxOutputs Number of output slots.
    /// @return ceil(maxOutputs / OUTPUTS_PER_WORD).
    function outputWords(uint256 maxOutputs) internal pure returns (uint256) {
        return OutputCodec.wordCount(maxOutputs);
    }

    /// @notice Index of the output commitment, after the packed words.
    /// @param accLimbs Number of accumulator limbs.
    /// @param maxOutputs Number of output slots.
    /// @return The index: accLimbs + 2 + outputWords(maxOutputs).
    function outputCommitmentIndex(uint256 accLimbs, uint256 maxOutputs) internal pure returns (uint256) {
        return accLimbs + 2 + outputWords(maxOutputs);
    }

    /// @notice Total number of instances.
    /// @param accLimbs Number of accumulator limbs.
    /// @param maxOutputs Number of output slots.
    /// @return The count: accLimbs + 3 + outputWords(maxOutputs).
    function count(uint256 accLimbs, uint256 maxOutputs) internal pure returns (uint256) {
        return outputCommitmentIndex(accLimbs, maxOutputs) + 1;
    }

    /// @notice The instance at `index` of a proof (see ProofCodec); the caller checks the length.
    /// @param proof The proof, i.e. the verifier calldata.
    /// @param index Instance index.
    /// @return value The instance.
    function at(bytes calldata proof, uint256 index) internal pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := calldataload(add(proof.offset, shl(5, index)))
        }
    }
}
