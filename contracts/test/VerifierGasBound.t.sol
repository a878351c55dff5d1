// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {RegistryTestBase} from "./utils/RegistryTestBase.sol";
import {AttestationRegistry} from "../src/AttestationRegistry.sol";
import {IAttestationRegistry} from "../src/interfaces/IAttestationRegistry.sol";
import {IERCZKMLVerifier} from "../src/interfaces/IERCZKMLVerifier.sol";
import {GasBurningMockVerifier} from "./mocks/GasBurningMockVerifier.sol";

/// @notice The verifier call is gas-bounded: a verifier that burns everything on a bad proof
/// (like the stock snark-verifier) costs at most the bound, and a starved call is not
/// misreported as an invalid proof. Also the constructor's configuration checks.
contract VerifierGasBoundTest is RegistryTestBase {
    GasBurningMockVerifier internal burner;
    uint256 internal modelId;

    function setUp() public override {
        super.setUp();
        burner = new GasBurningMockVerifier();
        registry = new AttestationRegistry(address(burner), GAS_LIMIT, ACC_LIMBS, MAX_OUTPUTS);
        modelId = _registerModel();
    }

    function test_invalidProof_revertsPromptlyWithinGasBound() public {
        int256[] memory v = _values3();
        bytes memory p = _proof(VK, INPUT, v); // not approved: the burner loops forever
        bytes memory data = abi.encodeCall(registry.verifyAndStoreInference, (modelId, INPUT, _output(v), p));
        uint256 supplied = 20_000_000;
        uint256 before = gasleft();
        (bool ok, bytes memory ret) = address(registry).call{gas: supplied}(data);
        uint256 used = before - gasleft();
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IERCZKMLVerifier.InvalidProof.selector));
        // The bound plus the registry's own work, far below what was supplied.
        assertLt(used, GAS_LIMIT + 100_000);
        assertGt(used, GAS_LIMIT);
    }

    function test_validProof_passesGasBurningVerifier() public {
        int256[] memory v = _values3();
        bytes memory p = _proof(VK, INPUT, v);
        burner.approve(p);
        bytes32 id = registry.verifyAndStoreInference(modelId, INPUT, _output(v), p);
        assertTrue(registry.hasInference(id));
    }

    function test_starvedVerifierCall_revertsWithInsufficientGas() public {
        int256[] memory v = _values3();
        bytes memory p = _proof(VK, INPUT, v);
        bytes memory data = abi.encodeCall(registry.verifyInference, (modelId, INPUT, _output(v), p));
        // Less than the bound reaches the verifier, which runs out: say so, not InvalidProof.
        (bool ok, bytes memory ret) = address(registry).call{gas: GAS_LIMIT / 2}(data);
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IAttestationRegistry.InsufficientGasForVerifier.selector, GAS_LIMIT));
    }

    function test_starvedValidProof_stillSucceeds() public {
        // Starvation only changes the error; a proof that verifies within the gas given passes.
        int256[] memory v = _values3();
        bytes memory p = _proof(VK, INPUT, v);
        burner.approve(p);
        bytes memory data = abi.encodeCall(registry.verifyInference, (modelId, INPUT, _output(v), p));
        (bool ok,) = address(registry).call{gas: 200_000}(data);
        assertTrue(ok);
    }

    // ------------------------------------------------------------------ constructor

    function test_constructor_revertsForVerifierWithoutCode() public {
        address eoa = makeAddr("eoa");
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.VerifierNotAContract.selector, eoa));
        new AttestationRegistry(eoa, GAS_LIMIT, ACC_LIMBS, MAX_OUTPUTS);
    }

    function test_constructor_revertsForZeroGasLimit() public {
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.InvalidVerifierGasLimit.selector, 0));
        new AttestationRegistry(address(burner), 0, ACC_LIMBS, MAX_OUTPUTS);
    }

    function test_constructor_revertsForBadLayout() public {
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.InvalidInstanceLayout.selector, 12, 0));
        new AttestationRegistry(address(burner), GAS_LIMIT, 12, 0);
        // The packed count has 6 bits.
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.InvalidInstanceLayout.selector, 12, 64));
        new AttestationRegistry(address(burner), GAS_LIMIT, 12, 64);
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.InvalidInstanceLayout.selector, 65_536, 30));
        new AttestationRegistry(address(burner), GAS_LIMIT, 65_536, 30);
    }

    function test_constructor_acceptsOtherLayouts() public {
        AttestationRegistry r = new AttestationRegistry(address(burner), 500_000, 0, 1);
        assertEq(r.outputWords(), 1);
        assertEq(r.instanceCount(), 4);
        assertEq(r.verifierGasLimit(), 500_000);
        r = new AttestationRegistry(address(burner), GAS_LIMIT, 12, 63);
        assertEq(r.outputWords(), 5);
        assertEq(r.instanceCount(), 20);
        r = new AttestationRegistry(address(burner), GAS_LIMIT, 12, 31);
        assertEq(r.outputWords(), 3);
    }
}
