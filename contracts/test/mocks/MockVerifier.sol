// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

/// @title TEST ONLY: a stand-in for the aggregation verifier that checks no cryptography.
/// @notice Accepts exactly the calldata a test approved beforehand (or everything when
/// `acceptAll`), so tests control the verdict and, by approving the exact bytes, also prove
/// the registry forwarded `proof` unchanged. It says nothing about the real verifier.
contract MockVerifier {
    bool public acceptAll;
    mapping(bytes32 calldataHash => bool) public approved;
    /// @notice Bytes returned on acceptance (empty like snark-verifier, or e.g. abi.encode(true)).
    bytes public returnData;

    /// @notice Accept or reject every call regardless of approvals.
    function setAcceptAll(bool accept) external {
        acceptAll = accept;
    }

    /// @notice Accept calls whose calldata is exactly `verifierCalldata`.
    function approve(bytes calldata verifierCalldata) external {
        approved[keccak256(verifierCalldata)] = true;
    }

    /// @notice Set what an accepted call returns.
    function setReturnData(bytes calldata data) external {
        returnData = data;
    }

    fallback() external {
        if (!acceptAll && !approved[keccak256(msg.data)]) revert("MockVerifier: rejected");
        bytes memory data = returnData;
        assembly ("memory-safe") {
            return(add(data, 0x20), mload(data))
        }
    }
}
