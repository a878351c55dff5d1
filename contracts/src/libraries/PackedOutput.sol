// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {OutputCodec} from "./OutputCodec.sol";

/// @title Compact storage of a record's model id and outputs.
/// @notice Storage dominates the cost of `verifyAndStoreInference` (22,100 gas per fresh slot),
/// and output values are small (the proof carries them in fields of at most 48 bits, so the
/// registry stores values of at most 8 bytes), so each record keeps its values at the narrowest
/// width that holds all of them; the library itself handles any int256.
///
/// Layout, least significant bit first, in consecutive words of a mapping:
/// word 0: [0,64) modelId | [64,72) scaleBits | [72,88) count | [88,96) width w in bytes
///         | [96,256) the first floor(160 / 8w) values
/// word k: floor(256 / 8w) further values
/// Each value is its two's complement truncated to w bytes (w in 1,2,4,8,16,32; no value
/// straddles two words). Examples: 10 int16 values take one word in all, 30 take three;
/// 20 int8 values take one word.
library PackedOutput {
    uint256 private constant META_BITS = 96;
    uint256 private constant MODEL_ID_MASK = type(uint64).max;

    /// @notice Smallest width w (bytes, a power of two) whose signed range holds every value.
    /// @param output A parsed output (see OutputCodec.parse).
    /// @param count Number of values.
    /// @return w The width in bytes.
    function widthOf(bytes calldata output, uint256 count) internal pure returns (uint256 w) {
        // OR of v (v >= 0) or ~v (v < 0) over all values: its bit length, plus a sign bit,
        // is the width needed.
        uint256 acc;
        assembly ("memory-safe") {
            let values := add(output.offset, 0x60)
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                let v := calldataload(add(values, shl(5, i)))
                acc := or(acc, xor(v, sar(255, v)))
            }
        }
        w = 1;
        while (w < 32 && acc >> (8 * w - 1) != 0) {
            w <<= 1;
        }
    }

    /// @notice Writes the model id and the outputs into `words`.
    /// @param words Storage of one record's packed output.
    /// @param modelId The model (ids are sequential, so they fit in 64 bits).
    /// @param scaleBits Fractional bits.
    /// @param output A parsed output.
    /// @param count Number of values (at most 65535).
    function store(
        mapping(uint256 => uint256) storage words,
        uint256 modelId,
        uint8 scaleBits,
        bytes calldata output,
        uint256 count
    ) internal {
        uint256 w = widthOf(output, count);
        uint256 word = (modelId & MODEL_ID_MASK) | (uint256(scaleBits) << 64) | (count << 72) | (w << 88);
        // One loop per value, hence assembly: append each value's low 8w bits at `bit`, and
        // flush the word to words[index] (slot keccak256(index . words.slot)) when it is full.
        assembly ("memory-safe") {
            let bits := shl(3, w)
            let mask := shr(sub(256, bits), not(0))
            let values := add(output.offset, 0x60)
            let bit := META_BITS
            let index := 0
            mstore(0x20, words.slot)
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                if gt(add(bit, bits), 256) {
                    mstore(0, index)
                    sstore(keccak256(0, 0x40), word)
                    index := add(index, 1)
                    word := 0
                    bit := 0
                }
                word := or(word, shl(bit, and(calldataload(add(values, shl(5, i))), mask)))
                bit := add(bit, bits)
            }
            mstore(0, index)
            sstore(keccak256(0, 0x40), word)
        }
    }

    /// @notice The model id of a stored record (one storage read).
    /// @param words Storage of one record's packed output.
    /// @return The model id.
    function modelIdOf(mapping(uint256 => uint256) storage words) internal view returns (uint256) {
        return words[0] & MODEL_ID_MASK;
    }

    /// @notice Reads back what `store` wrote.
    /// @param words Storage of one record's packed output.
    /// @return modelId The model id.
    /// @return scaleBits Fractional bits.
    /// @return values The output values.
    function load(mapping(uint256 => uint256) storage words)
        internal
        view
        returns (uint256 modelId, uint8 scaleBits, int256[] memory values)
    {
        uint256 word = words[0];
        modelId = word & MODEL_ID_MASK;
        // forge-lint: disable-next-line(unsafe-typecast) -- an 8-bit field
        scaleBits = uint8(word >> 64);
        uint256 count = (word >> 72) & 0xffff;
        uint256 w = (word >> 88) & 0xff;
        uint256 bits = 8 * w;
        uint256 mask = type(uint256).max >> (256 - bits);
        values = new int256[](count);
        uint256 bit = META_BITS;
        uint256 index = 0;
        for (uint256 i = 0; i < count; ++i) {
            if (bit + bits > 256) {
                word = words[++index];
                bit = 0;
            }
            uint256 raw = (word >> bit) & mask;
            int256 v;
            assembly ("memory-safe") {
                v := signextend(sub(w, 1), raw)
            }
            values[i] = v;
            bit += bits;
        }
    }
}
