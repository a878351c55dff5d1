// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {Test} from "forge-std/Test.sol";
import {AttestationRegistry} from "../../src/AttestationRegistry.sol";
import {IERCZKMLRegistry} from "../../src/interfaces/IERCZKMLRegistry.sol";
import {MockVerifier} from "../mocks/MockVerifier.sol";
import {RegistryHandler} from "./RegistryHandler.sol";

/// @notice Stateful properties of the registry under random call sequences (see RegistryHandler).
/// The verifier stand-in accepts every proof, so only the registry's own rules are exercised.
contract RegistryInvariantsTest is Test {
    AttestationRegistry internal registry;
    RegistryHandler internal handler;

    function setUp() public {
        MockVerifier mock = new MockVerifier();
        mock.setAcceptAll(true);
        // A small layout keeps each call cheap; the rules do not depend on the sizes.
        registry = new AttestationRegistry(address(mock), 1_000_000, 2, 4);
        handler = new RegistryHandler(registry);
        targetContract(address(handler));
    }

    function invariant_storedRecordNeverChanges() public view {
        for (uint256 i = 0; i < handler.storedCount(); ++i) {
            bytes32 id = handler.storedIds(i);
            assertEq(keccak256(abi.encode(registry.getInferenceRecord(id))), handler.recordHash(id));
        }
    }

    function invariant_deprecatedModelNeverGainsRecords() public view {
        assertFalse(handler.deprecatedGainedRecord());
        for (uint256 i = 0; i < handler.modelCount(); ++i) {
            uint256 id = handler.modelIds(i);
            if (handler.ghostDeprecated(id)) {
                assertEq(registry.inferenceCount(id), handler.countAtDeprecation(id));
            }
        }
    }

    function invariant_onlyOwnersMutateModels() public view {
        assertFalse(handler.unauthorizedMutation());
        for (uint256 i = 0; i < handler.modelCount(); ++i) {
            uint256 id = handler.modelIds(i);
            (IERCZKMLRegistry.ModelCommitment memory c, bool deprecated, address owner) = registry.getModel(id);
            assertEq(owner, handler.ghostOwner(id));
            assertEq(deprecated, handler.ghostDeprecated(id));
            assertEq(keccak256(abi.encode(c)), handler.ghostCommitment(id));
            assertEq(registry.pendingModelOwner(id), handler.ghostPending(id));
        }
    }

    function invariant_onlyMatchingClaimsAreStored() public view {
        assertFalse(handler.mismatchedClaimStored());
    }

    function invariant_countsMatchRecords() public view {
        uint256 total;
        for (uint256 i = 0; i < handler.modelCount(); ++i) {
            uint256 id = handler.modelIds(i);
            assertEq(registry.inferenceCount(id), handler.ghostCount(id));
            total += handler.ghostCount(id);
        }
        assertEq(total, handler.storedCount());
        assertEq(registry.modelCount(), handler.modelCount());
    }
}
