// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {RegistryTestBase} from "./utils/RegistryTestBase.sol";
import {IERCZKMLRegistry} from "../src/interfaces/IERCZKMLRegistry.sol";
import {IAttestationRegistry} from "../src/interfaces/IAttestationRegistry.sol";

/// @notice Fuzzed callers: only a model's owner mutates it, only the nominee accepts it, and
/// nobody, owner included, can alter a stored record.
contract AccessControlTest is RegistryTestBase {
    uint256 internal modelId;

    function setUp() public override {
        super.setUp();
        modelId = _registerModel();
    }

    function testFuzz_updateModel_onlyOwner(address caller) public {
        vm.assume(caller != owner);
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.NotModelOwner.selector, modelId, caller));
        vm.prank(caller);
        registry.updateModel(modelId, _commitment(VK));
    }

    function testFuzz_deprecateModel_onlyOwner(address caller) public {
        vm.assume(caller != owner);
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.NotModelOwner.selector, modelId, caller));
        vm.prank(caller);
        registry.deprecateModel(modelId);
        (, bool deprecated,) = registry.getModel(modelId);
        assertFalse(deprecated);
    }

    function testFuzz_transferModelOwnership_onlyOwner(address caller, address nominee) public {
        vm.assume(caller != owner);
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.NotModelOwner.selector, modelId, caller));
        vm.prank(caller);
        registry.transferModelOwnership(modelId, nominee);
        assertEq(registry.pendingModelOwner(modelId), address(0));
    }

    function testFuzz_acceptModelOwnership_onlyNominee(address caller, address nominee) public {
        vm.assume(nominee != address(0) && caller != nominee);
        vm.prank(owner);
        registry.transferModelOwnership(modelId, nominee);
        vm.expectRevert(abi.encodeWithSelector(IAttestationRegistry.NotPendingModelOwner.selector, modelId, caller));
        vm.prank(caller);
        registry.acceptModelOwnership(modelId);

        vm.prank(nominee);
        registry.acceptModelOwnership(modelId);
        (,, address o) = registry.getModel(modelId);
        assertEq(o, nominee);
    }

    function testFuzz_ownerRightsFollowOwnership(address newOwner, address caller) public {
        vm.assume(newOwner != address(0) && newOwner != owner && caller != newOwner);
        vm.prank(owner);
        registry.transferModelOwnership(modelId, newOwner);
        vm.prank(newOwner);
        registry.acceptModelOwnership(modelId);
        // Anyone but the new owner, including the old one, is refused.
        vm.expectRevert(abi.encodeWithSelector(IERCZKMLRegistry.NotModelOwner.selector, modelId, caller));
        vm.prank(caller);
        registry.deprecateModel(modelId);
        vm.prank(newOwner);
        registry.deprecateModel(modelId);
    }

    function testFuzz_storedRecord_unchangedByAnyCaller(address caller, bytes calldata junkProof) public {
        vm.assume(caller != address(0));
        int256[] memory v = _values3();
        bytes32 id = _store(modelId, INPUT, v);
        bytes memory before = abi.encode(registry.getInferenceRecord(id));

        // Resubmission by anyone with any proof, then every owner action on the model.
        vm.prank(caller);
        assertEq(registry.verifyAndStoreInference(modelId, INPUT, _output(v), junkProof), id);
        vm.startPrank(owner);
        IERCZKMLRegistry.ModelCommitment memory c = _commitment(VK);
        c.uri = "ipfs://changed";
        registry.updateModel(modelId, c);
        registry.transferModelOwnership(modelId, caller);
        registry.deprecateModel(modelId);
        vm.stopPrank();

        assertEq(abi.encode(registry.getInferenceRecord(id)), before);
        assertEq(registry.latestInference(modelId, INPUT), id);
        assertEq(registry.inferenceCount(modelId), 1);
    }
}
