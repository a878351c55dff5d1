// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title ERC-165 standard interface detection.
interface IERC165 {
    /// @notice Whether this contract implements the interface `interfaceId`.
    /// @param interfaceId The ERC-165 identifier (XOR of the interface's function selectors).
    /// @return True if the interface is supported.
    function supportsInterface(bytes4 interfaceId) external view returns (bool);
}
