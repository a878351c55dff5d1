// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {RegistryTestBase} from "./utils/RegistryTestBase.sol";
import {IERCZKMLRegistry} from "../src/interfaces/IERCZKMLRegistry.sol";
import {IERCZKMLVerifier} from "../src/interfaces/IERCZKMLVerifier.sol";
import {IAttestationRegistry} from "../src/interfaces/IAttestationRegistry.sol";
import {InstanceLayout} from "../src/libraries/InstanceLayout.sol";

/// @notice Registration, updates, deprecation, ownership and model views.
contract ModelRegistryTest is RegistryTestBase {
    // ------------------------------------------------------------------ registerModel

    function test_registerModel_assignsSequentialIdsToCaller() public {
        vm.prank(owner);
        uint256 a = registry.registerModel(_commitment(VK));
        vm.prank(stranger);
        uint256 b = registry.registerModel(_commitment(bytes32(uint256(77))));
        assertEq(a, 1);
        assertEq(b, 2);
        assertEq(registry.modelCount(), 2);
        (IERCZKMLRegistry.ModelCommitment memory c, bool deprecated, address o) = registry.getModel(a);
        assertEq(o, owner);
        assertFalse(deprecated);
        assertEq(c.vkHash, VK);
        assertEq(c.modelHash, keccak256("weights"));
        assertEq(c.circuitHash, keccak256("circuit"));
        assertEq(c.proofSystemId, HALO2);
        assertEq(c.uri, "ipfs://model");
        (,, o) = registry.getModel(b);
        assertEq(o, stranger);
    }

    function test_registerModel_declaresIntegerOutputs() public {
        vm.prank(owner);
        uint256 id = registry.registerModel(_commitment(VK));
        assertEq(registry.outputScaleBitsOf(id), 0);
    }

    function test_registerModel_emitsEvents() public {
        IERCZKMLRegistry.ModelCommitment memory c = _commitment(VK);
        vm.expectEmit(address(registry));
        emit IERCZKMLRegistry.ModelRegistered(1, owner, c);
        vm.expectEmit(address(registry));
        emit IAttestationRegistry.ModelOutputScaleSet(1, 0);
        vm.prank(owner);
        registry.registerModel(c);
    }

    function test_registerModel_revertsOnUnsupportedProofSystem() public {
        IERCZKMLRegistry.ModelCommitment memory c = _commitment(VK);
        c.proofSystemId = bytes4(keccak256("groth16-bn254-v1"));
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLVerifier.UnsupportedProofSystem.selector, c.proofSystemId));
        registry.registerModel(c);
    }

    function test_registerModel_revertsOnZeroVkHash() public {
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.InvalidVkHash.selector, bytes32(0)));
        registry.registerModel(_commitment(bytes32(0)));
    }

    function test_registerModel_revertsOnVkHashOutsideField() public {
        bytes32 vk = bytes32(InstanceLayout.FIELD_MODULUS);
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.InvalidVkHash.selector, vk));
        registry.registerModel(_commitment(vk));
    }

    function test_registerModel_allowsSameVkHashUnderDifferentOwners() public {
        // Uniqueness would let anyone squat a vkHash before its author registers it.
        uint256 a = _registerModel();
        vm.prank(stranger);
        uint256 b = registry.registerModel(_commitment(VK));
        assertTrue(a != b);
    }

    // ------------------------------------------------------------------ registerModelWithOutputScale

    function test_registerModelWithOutputScale_storesScale() public {
        uint256 id = _registerModel();
        assertEq(registry.outputScaleBitsOf(id), SCALE);
    }

    function test_registerModelWithOutputScale_emitsScale() public {
        vm.expectEmit(address(registry));
        emit IAttestationRegistry.ModelOutputScaleSet(1, 9);
        vm.prank(owner);
        registry.registerModelWithOutputScale(_commitment(VK), 9);
    }

    function test_registerModelWithOutputScale_revertsOnInvalidCommitment() public {
        IERCZKMLRegistry.ModelCommitment memory c = _commitment(VK);
        c.proofSystemId = 0x00000000;
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLVerifier.UnsupportedProofSystem.selector, bytes4(0)));
        registry.registerModelWithOutputScale(c, 3);
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.InvalidVkHash.selector, bytes32(0)));
        registry.registerModelWithOutputScale(_commitment(bytes32(0)), 3);
    }

    // ------------------------------------------------------------------ updateModel

    function test_updateModel_replacesMetadataAndEmits() public {
        uint256 id = _registerModel();
        IERCZKMLRegistry.ModelCommitment memory old = _commitment(VK);
        IERCZKMLRegistry.ModelCommitment memory next = _commitment(VK);
        next.modelHash = keccak256("weights v1.1 description");
        next.circuitHash = keccak256("circuit, fixed hash");
        next.uri = "ipfs://model-v2";
        vm.expectEmit(address(registry));
        emit IERCZKMLRegistry.ModelUpdated(id, old, next);
        vm.prank(owner);
        registry.updateModel(id, next);
        (IERCZKMLRegistry.ModelCommitment memory c,,) = registry.getModel(id);
        assertEq(c.modelHash, next.modelHash);
        assertEq(c.circuitHash, next.circuitHash);
        assertEq(c.uri, "ipfs://model-v2");
        assertEq(c.vkHash, VK);
        assertEq(registry.outputScaleBitsOf(id), SCALE);
    }

    function test_updateModel_revertsForNonOwner() public {
        uint256 id = _registerModel();
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.NotModelOwner.selector, id, stranger));
        vm.prank(stranger);
        registry.updateModel(id, _commitment(VK));
    }

    function test_updateModel_revertsForUnknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.ModelNotFound.selector, 1));
        registry.updateModel(1, _commitment(VK));
    }

    function test_updateModel_revertsWhenDeprecated() public {
        uint256 id = _registerModel();
        vm.startPrank(owner);
        registry.deprecateModel(id);
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.ModelIsDeprecated.selector, id));
        registry.updateModel(id, _commitment(VK));
        vm.stopPrank();
    }

    function test_updateModel_revertsOnVkHashChange() public {
        uint256 id = _registerModel();
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.VkHashImmutable.selector, id));
        vm.prank(owner);
        registry.updateModel(id, _commitment(bytes32(uint256(99))));
    }

    function test_updateModel_revertsOnUnsupportedProofSystem() public {
        uint256 id = _registerModel();
        IERCZKMLRegistry.ModelCommitment memory c = _commitment(VK);
        c.proofSystemId = bytes4(keccak256("plonk-bn254-v2"));
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLVerifier.UnsupportedProofSystem.selector, c.proofSystemId));
        vm.prank(owner);
        registry.updateModel(id, c);
    }

    // ------------------------------------------------------------------ deprecateModel

    function test_deprecateModel_setsFlagAndEmits() public {
        uint256 id = _registerModel();
        vm.expectEmit(address(registry));
        emit IERCZKMLRegistry.ModelDeprecated(id);
        vm.prank(owner);
        registry.deprecateModel(id);
        (, bool deprecated,) = registry.getModel(id);
        assertTrue(deprecated);
    }

    function test_deprecateModel_revertsForNonOwner() public {
        uint256 id = _registerModel();
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.NotModelOwner.selector, id, stranger));
        vm.prank(stranger);
        registry.deprecateModel(id);
    }

    function test_deprecateModel_revertsForUnknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.ModelNotFound.selector, 42));
        registry.deprecateModel(42);
    }

    function test_deprecateModel_revertsWhenAlreadyDeprecated() public {
        uint256 id = _registerModel();
        vm.startPrank(owner);
        registry.deprecateModel(id);
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.ModelIsDeprecated.selector, id));
        registry.deprecateModel(id);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ getModel and views

    function test_getModel_revertsForUnknownModel() public {
        _registerModel();
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.ModelNotFound.selector, 0));
        registry.getModel(0);
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.ModelNotFound.selector, 2));
        registry.getModel(2);
    }

    function test_modelViews_revertForUnknownModel() public {
        bytes memory err = abi.encodeWithSelector(IERCZKMLRegistry.ModelNotFound.selector, 7);
        vm.expectRevert(err);
        registry.outputScaleBitsOf(7);
        vm.expectRevert(err);
        registry.inferenceCount(7);
        vm.expectRevert(err);
        registry.proofSystemOf(7);
        vm.expectRevert(err);
        registry.pendingModelOwner(7);
    }

    function test_proofSystemOf_returnsHalo2Id() public {
        uint256 id = _registerModel();
        assertEq(registry.proofSystemOf(id), HALO2);
        assertEq(registry.PROOF_SYSTEM_ID(), HALO2);
    }

    function test_modelCount_startsAtZero() public view {
        assertEq(registry.modelCount(), 0);
    }

    // ------------------------------------------------------------------ ownership

    function test_transferModelOwnership_isTwoStep() public {
        uint256 id = _registerModel();
        vm.expectEmit(address(registry));
        emit IAttestationRegistry.ModelOwnershipTransferStarted(id, owner, stranger);
        vm.prank(owner);
        registry.transferModelOwnership(id, stranger);

        (,, address o) = registry.getModel(id);
        assertEq(o, owner, "owner unchanged until accepted");
        assertEq(registry.pendingModelOwner(id), stranger);

        vm.expectEmit(address(registry));
        emit IAttestationRegistry.ModelOwnershipTransferred(id, owner, stranger);
        vm.prank(stranger);
        registry.acceptModelOwnership(id);

        (,, o) = registry.getModel(id);
        assertEq(o, stranger);
        assertEq(registry.pendingModelOwner(id), address(0));

        // The previous owner lost its rights; the new one has them.
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.NotModelOwner.selector, id, owner));
        vm.prank(owner);
        registry.deprecateModel(id);
        vm.prank(stranger);
        registry.deprecateModel(id);
    }

    function test_transferModelOwnership_revertsForNonOwner() public {
        uint256 id = _registerModel();
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.NotModelOwner.selector, id, stranger));
        vm.prank(stranger);
        registry.transferModelOwnership(id, stranger);
    }

    function test_transferModelOwnership_revertsForUnknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.ModelNotFound.selector, 3));
        registry.transferModelOwnership(3, stranger);
    }

    function test_transferModelOwnership_zeroAddressCancels() public {
        uint256 id = _registerModel();
        vm.startPrank(owner);
        registry.transferModelOwnership(id, stranger);
        registry.transferModelOwnership(id, address(0));
        vm.stopPrank();
        assertEq(registry.pendingModelOwner(id), address(0));
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.NotPendingModelOwner.selector, id, stranger));
        vm.prank(stranger);
        registry.acceptModelOwnership(id);
    }

    function test_transferModelOwnership_allowedWhenDeprecated() public {
        uint256 id = _registerModel();
        vm.startPrank(owner);
        registry.deprecateModel(id);
        registry.transferModelOwnership(id, stranger);
        vm.stopPrank();
        vm.prank(stranger);
        registry.acceptModelOwnership(id);
        (,, address o) = registry.getModel(id);
        assertEq(o, stranger);
    }

    function test_acceptModelOwnership_revertsForNonPending() public {
        uint256 id = _registerModel();
        vm.prank(owner);
        registry.transferModelOwnership(id, stranger);
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.NotPendingModelOwner.selector, id, submitter));
        vm.prank(submitter);
        registry.acceptModelOwnership(id);
        // Not even the current owner can accept on the nominee's behalf.
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.NotPendingModelOwner.selector, id, owner));
        vm.prank(owner);
        registry.acceptModelOwnership(id);
    }

    function test_acceptModelOwnership_revertsForUnknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.ModelNotFound.selector, 5));
        registry.acceptModelOwnership(5);
    }
}
