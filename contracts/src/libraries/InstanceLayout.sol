// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Positions of the aggregated proof's public instances.
/// @notice Instances, each one 32-byte big-endian field element, in this order:
/// `[acc_0 .. acc_{L-1}, modelDigest, inputCommitment, numOutputs, out_0 .. out_{M-1}]`
/// with L accumulator limbs and M output slots (unused slots are zero). L and M are parameters
/// of the registry (defaults 12 and 32), so a change on the circuit side needs no code change.
library InstanceLayout {
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

    /// @notice Index of the number of outputs.
    /// @param accLimbs Number of accumulator limbs.
    /// @return The index.
    function numOutputsIndex(uint256 accLimbs) internal pure returns (uint256) {
        return accLimbs + 2;
    }

    /// @notice Index of the first output value.
    /// @param accLimbs Number of accumulator limbs.
    /// @return The index.
    function firstOutputIndex(uint256 accLimbs) internal pure returns (uint256) {
        return accLimbs + 3;
    }

    /// @notice Total number of instances.
    /// @param accLimbs Number of accumulator limbs.
    /// @param maxOutputs Number of output slots.
    /// @return The count.
    function count(uint256 accLimbs, uint256 maxOutputs) internal pure returns (uint256) {
        return accLimbs + 3 + maxOutputs;
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
