// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {Vm} from "forge-std/Vm.sol";
import {console} from "forge-std/console.sol";
import {RegistryTestBase} from "./utils/RegistryTestBase.sol";
import {AttestationRegistry} from "../src/AttestationRegistry.sol";

/// @notice Registry overhead: gas of the registry's own work, measured against a verifier whose
/// code is a single STOP (0 gas of its own), so every unit counted is the registry's (plus the
/// staticcall and calldata copy it pays to reach the verifier).
/// Reproduce: .tools/bin/forge test --match-contract RegistryGasTest -vv
/// Numbers are execution gas of the registry call frame (vm.lastCallGas), i.e. without the
/// 21,000 base fee and calldata of the transaction; docs/contracts.md has the table. The
/// bounds are regression guards a few percent above the measured values.
contract RegistryGasTest is RegistryTestBase {
    uint256 internal modelId;

    function setUp() public override {
        super.setUp();
        address stop = makeAddr("stopVerifier");
        vm.etch(stop, hex"00");
        registry = new AttestationRegistry(stop, GAS_LIMIT, ACC_LIMBS, MAX_OUTPUTS);
        modelId = _registerModel();
    }

    /// @dev `n` values alternating in sign with magnitude about 2^(bits-2).
    function _values(uint256 n, uint256 bits) internal pure returns (int256[] memory v) {
        v = new int256[](n);
        for (uint256 i = 0; i < n; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast) -- bits <= 64
            int256 mag = int256((uint256(1) << (bits - 2)) + i);
            v[i] = i % 2 == 0 ? mag : -mag;
        }
    }

    function _measureStore(string memory label, int256[] memory v) internal returns (uint256 gasUsed) {
        bytes memory out = _output(v);
        bytes memory p = _proof(VK, INPUT, v);
        vm.prank(submitter);
        registry.verifyAndStoreInference(modelId, INPUT, out, p);
        gasUsed = vm.lastCallGas().gasTotalUsed;
        console.log(label, gasUsed);
    }

    function test_gas_verifyInference_10Outputs() public {
        int256[] memory v = _values(10, 16);
        bytes memory out = _output(v);
        bytes memory p = _proof(VK, INPUT, v);
        registry.verifyInference(modelId, INPUT, out, p);
        uint256 used = vm.lastCallGas().gasTotalUsed;
        console.log("verifyInference, 10 outputs (int16):", used);
        assertLt(used, 21_000);
    }

    function test_gas_verifyAndStoreInference_1Output() public {
        assertLt(_measureStore("verifyAndStoreInference, 1 output:", _values(1, 8)), 117_000);
    }

    function test_gas_verifyAndStoreInference_10OutputsInt16() public {
        // The demo's 10-class digits classifier: logits within the lookup range (int16).
        assertLt(_measureStore("verifyAndStoreInference, 10 outputs (int16):", _values(10, 16)), 123_000);
    }

    function test_gas_verifyAndStoreInference_10OutputsInt8() public {
        // Values within int8 are stored one byte each (PackedOutput).
        assertLt(_measureStore("verifyAndStoreInference, 10 outputs (int8):", _values(10, 8)), 123_000);
    }

    function test_gas_verifyAndStoreInference_30OutputsInt16() public {
        // The most a proof carries (MAX_OUTPUTS): 3 storage words of outputs.
        assertLt(_measureStore("verifyAndStoreInference, 30 outputs (int16):", _values(30, 16)), 182_000);
    }

    function test_gas_verifyAndStoreInference_replay() public {
        int256[] memory v = _values(10, 16);
        _measureStore("first store:", v);
        vm.prank(submitter);
        registry.verifyAndStoreInference(modelId, INPUT, _output(v), hex"");
        uint256 used = vm.lastCallGas().gasTotalUsed;
        console.log("verifyAndStoreInference replay, 10 outputs:", used);
        assertLt(used, 3_000);
    }
}
