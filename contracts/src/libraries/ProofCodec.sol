// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {InstanceLayout} from "./InstanceLayout.sol";
import {OutputCodec} from "./OutputCodec.sol";

/// @title Builds and splits the `proof` argument of `verifyInference`.
/// @notice `proof` IS the verifier calldata: the public instances as 32-byte big-endian words,
/// followed by the raw proof bytes (snark-verifier's calldata layout). The registry reads the
/// instances it must check in place and forwards `proof` to the verifier unchanged, so there
/// is no re-encoding and nothing can differ between what is checked and what is verified.
/// @dev For off-chain builders, scripts and tests; the registry itself only reads calldata.
library ProofCodec {
    /// @notice Thrown by `split` when `proof` is shorter than its instances.
    error ProofTooShort(uint256 length, uint256 instanceBytes);
    /// @notice Thrown by `buildInstances` when the inputs do not fit the layout.
    error LayoutMismatch();

    /// @notice Concatenates instances and proof bytes into the `proof` argument (= verifier calldata).
    /// @param instances Public instances (field elements).
    /// @param proofBytes Raw proof transcript.
    /// @return proof The encoded proof.
    function encode(uint256[] memory instances, bytes memory proofBytes) internal pure returns (bytes memory proof) {
        // encodePacked lays out uint256[] elements as consecutive 32-byte words.
        return abi.encodePacked(instances, proofBytes);
    }

    /// @notice Splits a `proof` argument into its instances and proof bytes.
    /// @param proof The encoded proof.
    /// @param instanceCount Number of instances (see InstanceLayout.count).
    /// @return instances The public instances.
    /// @return proofBytes The raw proof transcript.
    function split(bytes memory proof, uint256 instanceCount)
        internal
        pure
        returns (uint256[] memory instances, bytes memory proofBytes)
    {
        uint256 head = instanceCount * 32;
        if (proof.length < head) revert ProofTooShort(proof.length, head);
        instances = new uint256[](instanceCount);
        for (uint256 i = 0; i < instanceCount; ++i) {
            uint256 word;
            assembly ("memory-safe") {
                word := mload(add(add(proof, 0x20), shl(5, i)))
            }
            instances[i] = word;
        }
        proofBytes = new bytes(proof.length - head);
        for (uint256 i = 0; i < proofBytes.length; ++i) {
            proofBytes[i] = proof[head + i];
        }
    }

    /// @notice The public instances an honest proof of (modelDigest, inputCommitment, values) carries.
    /// @param accumulator The KZG accumulator limbs (their count is the layout's limb count).
    /// @param modelDigest The model digest (the registered `vkHash`).
    /// @param inputCommitment The input commitment.
    /// @param values Output values, packed with their count (see OutputCodec.pack).
    /// @param scaleBits The output scale, packed with them.
    /// @param maxOutputs Number of output slots.
    /// @return result The instances.
    function buildInstances(
        uint256[] memory accumulator,
        bytes32 modelDigest,
        bytes32 inputCommitment,
        int256[] memory values,
        uint256 scaleBits,
        uint256 maxOutputs
    ) internal pure returns (uint256[] memory result) {
        (bool ok, uint256[] memory words) = OutputCodec.pack(values, scaleBits, maxOutputs);
        if (!ok) revert LayoutMismatch();
        uint256 limbs = accumulator.length;
        result = new uint256[](InstanceLayout.count(limbs, maxOutputs));
        for (uint256 i = 0; i < limbs; ++i) {
            result[i] = accumulator[i];
        }
        result[InstanceLayout.modelDigestIndex(limbs)] = uint256(modelDigest);
        result[InstanceLayout.inputCommitmentIndex(limbs)] = uint256(inputCommitment);
        uint256 first = InstanceLayout.firstOutputWordIndex(limbs);
        for (uint256 j = 0; j < words.length; ++j) {
            result[first + j] = words[j];
        }
    }
}
