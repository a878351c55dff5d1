// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {Test} from "forge-std/Test.sol";
import {console} from "forge-std/console.sol";
import {AttestationRegistry} from "../src/AttestationRegistry.sol";
import {IERCZKMLRegistry} from "../src/interfaces/IERCZKMLRegistry.sol";
import {IERCZKMLVerifier} from "../src/interfaces/IERCZKMLVerifier.sol";
import {InstanceLayout} from "../src/libraries/InstanceLayout.sol";
import {OutputCodec} from "../src/libraries/OutputCodec.sol";
import {ProofCodec} from "../src/libraries/ProofCodec.sol";

/// @notice Integration with a REAL aggregated proof and the REAL generated verifier, from a
/// fixture the Rust side writes (no FFI): `scripts/regen-fixtures.sh`. A missing fixture fails.
///
/// Fixture: contracts/test/fixtures/aggregated_proof.json
///   verifier_creation_code  hex   creation bytecode of the generated verifier
///   acc_limbs, max_outputs, output_words
///                           uint  instance layout (12, 30, 2: 16 instances)
///   vk_hash                 hex32 model digest (instance acc_limbs)
///   output_scale_bits       uint  the model's output scale
///   input_commitment        hex32 big-endian field element
///   output                  hex   abi.encode(int256[] values, uint8 scaleBits)
///   proof                   hex   instances (32-byte big-endian words) || proof transcript
///   srs_digest              hex32 the SRS the verifier pairs against (its srsDigest())
contract RealProofTest is Test {
    string internal constant FIXTURE = "contracts/test/fixtures/aggregated_proof.json";

    AttestationRegistry internal registry;
    address internal verifier;
    uint256 internal modelId;
    bytes32 internal vkHash;
    bytes32 internal input;
    bytes internal output;
    bytes internal proof;
    uint256 internal limbs;
    uint256 internal maxOutputs;

    function _load() internal {
        require(vm.exists(FIXTURE), "missing real-proof fixture: run scripts/regen-fixtures.sh");
        string memory json = vm.readFile(FIXTURE);
        bytes memory code = vm.parseJsonBytes(json, ".verifier_creation_code");
        assembly ("memory-safe") {
            sstore(verifier.slot, create(0, add(code, 0x20), mload(code)))
        }
        require(verifier != address(0), "verifier deployment failed");
        limbs = vm.parseJsonUint(json, ".acc_limbs");
        maxOutputs = vm.parseJsonUint(json, ".max_outputs");
        registry = new AttestationRegistry(verifier, 1_000_000, limbs, maxOutputs);
        // The Rust side's word count must be the one the registry derives from max_outputs.
        require(registry.outputWords() == vm.parseJsonUint(json, ".output_words"), "output_words mismatch");
        vkHash = vm.parseJsonBytes32(json, ".vk_hash");
        input = vm.parseJsonBytes32(json, ".input_commitment");
        output = vm.parseJsonBytes(json, ".output");
        proof = vm.parseJsonBytes(json, ".proof");
        modelId = _register(vkHash, vm.parseJsonUint(json, ".output_scale_bits"));
    }

    function _register(bytes32 vk, uint256 scale) internal returns (uint256) {
        return registry.registerModelWithOutputScale(
            IERCZKMLRegistry.ModelCommitment({
                modelHash: bytes32(0),
                circuitHash: bytes32(0),
                vkHash: vk,
                proofSystemId: registry.PROOF_SYSTEM_ID(),
                uri: "fixture"
            }),
            // forge-lint: disable-next-line(unsafe-typecast) -- fixture scale is small
            uint8(scale)
        );
    }

    function _withWord(bytes memory b, uint256 index, uint256 value) internal pure returns (bytes memory out) {
        out = bytes.concat(b);
        assembly ("memory-safe") {
            mstore(add(add(out, 0x20), shl(5, index)), value)
        }
    }

    function test_realProof_verifiesAndStores() public {
        _load();
        (bool ok,) = verifier.call(proof);
        assertTrue(ok, "verifier accepts the fixture directly");
        console.log("verifier alone (execution gas):", vm.lastCallGas().gasTotalUsed);
        bytes32 id = registry.verifyAndStoreInference(modelId, input, output, proof);
        console.log("verifyAndStoreInference (execution gas):", vm.lastCallGas().gasTotalUsed);
        (uint256 m, bytes32 gotInput, bytes memory gotOutput) = registry.getInference(id);
        assertEq(m, modelId);
        assertEq(gotInput, input);
        assertEq(gotOutput, output);
        assertEq(registry.getOutputCommitment(id), bytes32(0), "values shown: no commitment stored");
    }

    function test_realProof_instancesCarryTheClaim() public {
        _load();
        uint256 n = registry.instanceCount();
        assertGt(proof.length, n * 32, "proof holds its instances and a transcript");
        (uint256[] memory inst,) = ProofCodec.split(proof, n);
        assertEq(inst[InstanceLayout.modelDigestIndex(limbs)], uint256(vkHash));
        assertEq(inst[InstanceLayout.inputCommitmentIndex(limbs)], uint256(input));
        (int256[] memory values, uint8 scale) = abi.decode(output, (int256[], uint8));
        (bool ok, int256[] memory unpacked, uint8 provenScale) = OutputCodec.unpack(_outputWords(inst), maxOutputs);
        assertTrue(ok, "packed output words are canonical");
        assertEq(unpacked, values);
        assertEq(provenScale, scale, "the proof states the output scale");
        assertEq(provenScale, registry.outputScaleBitsOf(modelId));
        uint256 committed = inst[InstanceLayout.outputCommitmentIndex(limbs, maxOutputs)];
        assertGt(committed, 0, "the proof commits to its outputs");
        assertLt(committed, InstanceLayout.FIELD_MODULUS);
    }

    function test_realProof_rejectsTamperedProofByte() public {
        _load();
        bytes memory bad = bytes.concat(proof);
        uint256 at = registry.instanceCount() * 32 + 40; // inside the transcript
        bad[at] = bad[at] ^ 0x01;
        vm.expectRevert(IERCZKMLVerifier.InvalidProof.selector);
        registry.verifyAndStoreInference(modelId, input, output, bad);
    }

    function test_realProof_rejectsWrongOutput() public {
        _load();
        (int256[] memory values, uint8 scale) = abi.decode(output, (int256[], uint8));
        require(values.length > 0, "fixture has no outputs");
        values[0] += values[0] < OutputCodec.MAX_VALUE ? int256(1) : -1;
        // Claimed output differs from the instances: the registry refuses.
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyAndStoreInference(modelId, input, abi.encode(values, scale), proof);
        // Claim and packed words altered together: only the verifier can refuse, and must.
        (bool ok, uint256[] memory words) = OutputCodec.pack(values, scale, maxOutputs);
        require(ok, "repack");
        bytes memory altered = bytes.concat(proof);
        for (uint256 j = 0; j < words.length; ++j) {
            altered = _withWord(altered, InstanceLayout.firstOutputWordIndex(limbs) + j, words[j]);
        }
        vm.expectRevert(IERCZKMLVerifier.InvalidProof.selector);
        registry.verifyAndStoreInference(modelId, input, abi.encode(values, scale), altered);
    }

    function test_realProof_rejectsTamperedOutputWord() public {
        _load();
        // A packed word altered under an unchanged claim: the registry refuses before the verifier.
        uint256 at = InstanceLayout.firstOutputWordIndex(limbs) + registry.outputWords() - 1;
        (uint256[] memory inst,) = ProofCodec.split(proof, registry.instanceCount());
        bytes memory altered = _withWord(proof, at, inst[at] ^ 1);
        vm.expectRevert(IERCZKMLVerifier.OutputMismatch.selector);
        registry.verifyAndStoreInference(modelId, input, output, altered);
    }

    function test_realProof_rejectsWrongModel() public {
        _load();
        uint256 other = _register(bytes32(uint256(vkHash) ^ 1), registry.outputScaleBitsOf(modelId));
        vm.expectRevert(IERCZKMLVerifier.ModelMismatch.selector);
        registry.verifyAndStoreInference(other, input, output, proof);
        // The digest instance rewritten to the other model: the verifier must refuse.
        bytes memory altered = _withWord(proof, InstanceLayout.modelDigestIndex(limbs), uint256(vkHash) ^ 1);
        vm.expectRevert(IERCZKMLVerifier.InvalidProof.selector);
        registry.verifyAndStoreInference(other, input, output, altered);
    }

    function test_realProof_rejectsWrongInput() public {
        _load();
        bytes32 otherInput = bytes32(uint256(input) ^ 1);
        bytes memory altered = _withWord(proof, InstanceLayout.inputCommitmentIndex(limbs), uint256(otherInput));
        vm.expectRevert(IERCZKMLVerifier.InvalidProof.selector);
        registry.verifyAndStoreInference(modelId, otherInput, output, altered);
    }

    function test_realProof_inputPlusModulusIsNotASecondRecord() public {
        _load();
        uint256 shifted = uint256(input) + InstanceLayout.FIELD_MODULUS;
        require(shifted > uint256(input), "commitment too large to shift within 256 bits");
        bytes memory altered = _withWord(proof, InstanceLayout.inputCommitmentIndex(limbs), shifted);
        // Why the registry must check: the verifier reduces instances mod r and accepts it.
        (bool ok,) = verifier.call(altered);
        assertTrue(ok, "the verifier accepts an instance shifted by r");
        registry.verifyAndStoreInference(modelId, input, output, proof);
        vm.expectRevert(IERCZKMLVerifier.InputCommitmentMismatch.selector);
        registry.verifyAndStoreInference(modelId, bytes32(shifted), output, altered);
        vm.expectRevert(IERCZKMLVerifier.InputCommitmentMismatch.selector);
        registry.verifyInference(modelId, bytes32(shifted), output, altered);
        assertEq(registry.inferenceCount(modelId), 1);
    }

    function test_realProof_registryNamesTheVerifiersSrs() public {
        _load();
        bytes32 digest = vm.parseJsonBytes32(vm.readFile(FIXTURE), ".srs_digest");
        (bool ok, bytes memory ret) = verifier.staticcall(abi.encodeWithSignature("srsDigest()"));
        assertTrue(ok, "the generated verifier has srsDigest()");
        assertEq(abi.decode(ret, (bytes32)), digest);
        assertEq(registry.srsDigest(), digest);
        assertEq(registry.srsDigestOf(modelId), digest);
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.ModelNotFound.selector, modelId + 1));
        registry.srsDigestOf(modelId + 1);
    }

    function _outputWords(uint256[] memory inst) internal view returns (uint256[] memory words) {
        words = new uint256[](registry.outputWords());
        for (uint256 j = 0; j < words.length; ++j) {
            words[j] = inst[InstanceLayout.firstOutputWordIndex(limbs) + j];
        }
    }

    function test_realProof_rejectsDeprecatedModel() public {
        _load();
        registry.deprecateModel(modelId);
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLVerifier.VerificationRefused_ModelDeprecated.selector, modelId));
        registry.verifyAndStoreInference(modelId, input, output, proof);
    }
}
