// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {OutputCodec} from "../../src/libraries/OutputCodec.sol";
import {PackedOutput} from "../../src/libraries/PackedOutput.sol";

/// @notice Exposes the codec libraries with calldata/storage arguments, as the registry uses them.
contract CodecHarness {
    mapping(uint256 => uint256) internal words;

    function parse(bytes calldata output) external pure returns (bool ok, uint256 count, uint8 scaleBits) {
        return OutputCodec.parse(output);
    }

    function matchesWords(
        bytes calldata output,
        uint256 count,
        uint256 scaleBits,
        bytes calldata packed,
        uint256 maxOutputs
    ) external pure returns (bool) {
        return OutputCodec.matchesWords(output, count, scaleBits, packed, maxOutputs);
    }

    /// @notice Parses `output` and checks it against `packed` as the registry does.
    function parseAndMatch(bytes calldata output, bytes calldata packed, uint256 maxOutputs)
        external
        pure
        returns (bool)
    {
        (bool ok, uint256 count, uint8 scaleBits) = OutputCodec.parse(output);
        return ok && OutputCodec.matchesWords(output, count, scaleBits, packed, maxOutputs);
    }

    function widthOf(bytes calldata output) external pure returns (uint256) {
        (, uint256 count,) = OutputCodec.parse(output);
        return PackedOutput.widthOf(output, count);
    }

    /// @notice Stores `output` packed, then reads it back.
    function storeAndLoad(uint256 modelId, bytes calldata output)
        external
        returns (uint256 loadedModelId, uint8 scaleBits, int256[] memory values)
    {
        (bool ok, uint256 count, uint8 scale) = OutputCodec.parse(output);
        require(ok, "harness: bad output");
        PackedOutput.store(words, modelId, scale, output, count);
        return PackedOutput.load(words);
    }
}
