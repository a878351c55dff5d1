// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

/// @title TEST ONLY: a verifier stand-in that burns all gas it is given on rejection.
/// @notice Models the stock snark-verifier failure mode (invalid proof = out of gas) so tests
/// can check the registry's gas bound makes an invalid proof revert promptly. No cryptography.
contract GasBurningMockVerifier {
    mapping(bytes32 calldataHash => bool) public approved;

    /// @notice Accept calls whose calldata is exactly `verifierCalldata`.
    function approve(bytes calldata verifierCalldata) external {
        approved[keccak256(verifierCalldata)] = true;
    }

    fallback() external {
        if (approved[keccak256(msg.data)]) return;
        // Loop until out of gas, like the stock verifier on a bad proof.
        uint256 i;
        while (true) {
            unchecked {
                ++i;
            }
        }
    }
}
