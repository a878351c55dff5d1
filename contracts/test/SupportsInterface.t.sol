// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {RegistryTestBase} from "./utils/RegistryTestBase.sol";
import {IERC165} from "../src/interfaces/IERC165.sol";
import {IERCZKMLRegistry} from "../src/interfaces/IERCZKMLRegistry.sol";
import {IERCZKMLVerifier} from "../src/interfaces/IERCZKMLVerifier.sol";
import {IERCZKMLStorageExtension} from "../src/interfaces/IERCZKMLStorageExtension.sol";
import {IAttestationRegistry} from "../src/interfaces/IAttestationRegistry.sol";

/// @notice ERC-165 discovery. The ERC-7992 ids are pinned as literals so an accidental ABI
/// change (a renamed parameter type, a changed struct) fails here, not at an integrator.
/// Independently derived: XOR of `cast sig` over each interface's function signatures.
contract SupportsInterfaceTest is RegistryTestBase {
    bytes4 internal constant ERC165_ID = 0x01ffc9a7;
    bytes4 internal constant REGISTRY_ID = 0xd28519b1;
    bytes4 internal constant VERIFIER_ID = 0x5df65472;
    bytes4 internal constant STORAGE_ID = 0x29c6ba89;

    function test_supportsInterface_pinsErcIds() public pure {
        assertEq(type(IERC165).interfaceId, ERC165_ID);
        assertEq(type(IERCZKMLRegistry).interfaceId, REGISTRY_ID);
        assertEq(type(IERCZKMLVerifier).interfaceId, VERIFIER_ID);
        assertEq(type(IERCZKMLStorageExtension).interfaceId, STORAGE_ID);
    }

    function test_supportsInterface_reportsAllImplementedInterfaces() public view {
        assertTrue(registry.supportsInterface(ERC165_ID));
        assertTrue(registry.supportsInterface(REGISTRY_ID));
        assertTrue(registry.supportsInterface(VERIFIER_ID));
        assertTrue(registry.supportsInterface(STORAGE_ID));
        assertTrue(registry.supportsInterface(type(IAttestationRegistry).interfaceId));
    }

    function test_supportsInterface_rejectsOthers() public view {
        assertFalse(registry.supportsInterface(0xffffffff)); // ERC-165 requires false
        assertFalse(registry.supportsInterface(0x00000000));
        assertFalse(registry.supportsInterface(0x80ac58cd)); // ERC-721
    }
}
