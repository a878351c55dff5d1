// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title The `output` encoding of zkattest inferences and its packing into public instances.
/// @notice `output = abi.encode(int256[] values, uint8 scaleBits)`; real value = values[i] / 2^scaleBits.
/// In the proof the values travel packed, as the aggregation circuit packs them
/// (prover/src/aggregate/circuit.rs, `pack_outputs`): with M output slots there are
/// W = ceil(M / 15) words, and
///
///     word_j = sum_{i < 15, 15j + i < M} 2^(16 i) * (v_{15j+i} + 2^15)
///              [+ 2^240 * n + 2^246 * scaleBits  if j = 0]
///
/// where n is the number of values, scaleBits the output scale (the last shard's circuit
/// states both as a constant, so the proof binds the scale too), every value lies in
/// [-2^15, 2^15) and unused slots (n <= slot < M) hold v = 0, i.e. the field 0x8000. Bits of
/// slots >= M, bits 252..255 of word 0 and bits 240..255 of the other words are zero. The
/// circuit range-checks every field (16 bits each, 6 for n and for scaleBits), so each
/// (n, scaleBits, values) has exactly one packing and vice versa.
/// @dev Parsing is strict on purpose: exactly one byte string is accepted per (values, scaleBits),
/// so one inference has exactly one inferenceId and cannot be stored twice under byte-level
/// variants (non-minimal offsets, trailing bytes, dirty uint8 padding).
library OutputCodec {
    /// @notice Bits per packed value.
    uint256 internal constant OUTPUT_BITS = 16;
    /// @notice Values per packed word.
    uint256 internal constant OUTPUTS_PER_WORD = 15;
    /// @notice Bit position of the count n in word 0 (= OUTPUT_BITS * OUTPUTS_PER_WORD).
    uint256 internal constant COUNT_SHIFT = 240;
    /// @notice Bit position of the output scale in word 0 (above the 6-bit count).
    uint256 internal constant SCALE_SHIFT = 246;
    /// @notice Largest number of output slots M: the count field has 6 bits.
    uint256 internal constant MAX_OUTPUT_SLOTS = 63;
    /// @notice Largest output scale a proof can state: the scale field has 6 bits.
    uint256 internal constant MAX_SCALE_BITS = 63;
    /// @notice Smallest value a proof can carry (-2^15).
    int256 internal constant MIN_VALUE = -32768;
    /// @notice Largest value a proof can carry (2^15 - 1).
    int256 internal constant MAX_VALUE = 32767;
    /// @notice Added to each value to make its 16-bit field non-negative (2^15).
    uint256 internal constant VALUE_OFFSET = 32768;
    /// @notice 15 fields of 0x8000: a word of unused slots.
    uint256 internal constant PADDING = 0x800080008000800080008000800080008000800080008000800080008000;
    /// @notice Bytes before the first value: offset (0x40), scaleBits, array length.
    uint256 internal constant HEAD_BYTES = 0x60;

    /// @notice Parses the head of a calldata `output` and checks it is canonical.
    /// @param output The encoded output.
    /// @return ok Whether `output` is exactly abi.encode(int256[count], uint8).
    /// @return count Number of values (meaningful only if ok).
    /// @return scaleBits Fractional bits (meaningful only if ok).
    function parse(bytes calldata output) internal pure returns (bool ok, uint256 count, uint8 scaleBits) {
        if (output.length < HEAD_BYTES) return (false, 0, 0);
        uint256 offset;
        uint256 scale;
        assembly ("memory-safe") {
            offset := calldataload(output.offset)
            scale := calldataload(add(output.offset, 0x20))
            count := calldataload(add(output.offset, 0x40))
        }
        uint256 body = output.length - HEAD_BYTES;
        ok = offset == 0x40 && scale <= type(uint8).max && body % 32 == 0 && body / 32 == count;
        // forge-lint: disable-next-line(unsafe-typecast) -- truncation harmless: only used when ok
        scaleBits = uint8(scale);
    }

    /// @notice The i-th value of an `output` that `parse` accepted (no bounds check).
    /// @param output The encoded output.
    /// @param i Value index, below the parsed count.
    /// @return v The value.
    function valueAt(bytes calldata output, uint256 i) internal pure returns (int256 v) {
        assembly ("memory-safe") {
            v := calldataload(add(output.offset, add(0x60, shl(5, i))))
        }
    }

    /// @notice Number of packed words for `maxOutputs` output slots.
    /// @param maxOutputs Number of output slots M.
    /// @return ceil(M / OUTPUTS_PER_WORD).
    function wordCount(uint256 maxOutputs) internal pure returns (uint256) {
        return (maxOutputs + OUTPUTS_PER_WORD - 1) / OUTPUTS_PER_WORD;
    }

    /// @notice Whether the packed output words of a proof carry exactly the values of `output`
    /// at `scaleBits`: count <= maxOutputs, scaleBits <= MAX_SCALE_BITS, every value in
    /// [MIN_VALUE, MAX_VALUE], and the first `wordCount(maxOutputs)` words of `words` equal the
    /// packing of (count, scaleBits, values).
    /// @dev The registry's hot path, hence assembly: it builds each expected word from calldata
    /// (a loop over the values, the padding of unused slots in one masked step) and compares it
    /// with the instance. A fuzz test checks it agrees with `pack` for every slot count.
    /// @param output A parsed output (see `parse`) with `count` values.
    /// @param count Number of values.
    /// @param scaleBits The output scale.
    /// @param words The packed output instances (calldata, 32 bytes per word).
    /// @param maxOutputs Number of output slots M, at most MAX_OUTPUT_SLOTS.
    /// @return ok True iff all match.
    function matchesWords(
        bytes calldata output,
        uint256 count,
        uint256 scaleBits,
        bytes calldata words,
        uint256 maxOutputs
    ) internal pure returns (bool ok) {
        uint256 numWords = wordCount(maxOutputs);
        assembly ("memory-safe") {
            ok := and(iszero(gt(count, maxOutputs)), iszero(lt(words.length, shl(5, numWords))))
            ok := and(ok, iszero(gt(scaleBits, MAX_SCALE_BITS)))
            // OR of every v + 2^15 (mod 2^256): below 2^16 iff every v is in [-2^15, 2^15).
            let fields := 0
            let values := add(output.offset, 0x60)
            for { let w := 0 } lt(w, numWords) { w := add(w, 1) } {
                let base := mul(w, OUTPUTS_PER_WORD)
                // This word's slots are [base, last); those below `count` hold values.
                let last := add(base, OUTPUTS_PER_WORD)
                if gt(last, maxOutputs) { last := maxOutputs }
                let valuesEnd := base
                if gt(count, base) { valuesEnd := count }
                if gt(valuesEnd, last) { valuesEnd := last }
                // The count and the scale sit above the values of word 0.
                let word := mul(iszero(w), or(shl(COUNT_SHIFT, count), shl(SCALE_SHIFT, scaleBits)))
                let bit := 0
                for { let slot := base } lt(slot, valuesEnd) { slot := add(slot, 1) } {
                    let field := add(calldataload(add(values, shl(5, slot))), VALUE_OFFSET)
                    fields := or(fields, field)
                    word := or(word, shl(bit, field))
                    bit := add(bit, OUTPUT_BITS)
                }
                // Unused slots [valuesEnd, last) hold 0x8000 (v = 0); slots >= M hold nothing.
                let padding := and(PADDING, sub(shl(mul(sub(last, base), OUTPUT_BITS), 1), shl(bit, 1)))
                word := or(word, padding)
                ok := and(ok, eq(word, calldataload(add(words.offset, shl(5, w)))))
            }
            ok := and(ok, lt(fields, 0x10000))
        }
    }

    /// @notice Packs output values as the aggregation circuit does (the reference for `matchesWords`).
    /// @param values Output values.
    /// @param scaleBits The output scale, at most MAX_SCALE_BITS.
    /// @param maxOutputs Number of output slots M, in [1, MAX_OUTPUT_SLOTS].
    /// @return ok False if there are more than M values, a value is outside [MIN_VALUE, MAX_VALUE],
    /// the scale does not fit or M is out of range.
    /// @return words The `wordCount(M)` packed words (meaningful only if ok).
    function pack(int256[] memory values, uint256 scaleBits, uint256 maxOutputs)
        internal
        pure
        returns (bool ok, uint256[] memory words)
    {
        if (maxOutputs == 0 || maxOutputs > MAX_OUTPUT_SLOTS || scaleBits > MAX_SCALE_BITS) {
            return (false, new uint256[](0));
        }
        words = new uint256[](wordCount(maxOutputs));
        if (values.length > maxOutputs) return (false, words);
        for (uint256 slot = 0; slot < maxOutputs; ++slot) {
            int256 v = slot < values.length ? values[slot] : int256(0);
            if (v < MIN_VALUE || v > MAX_VALUE) return (false, words);
            // forge-lint: disable-next-line(unsafe-typecast) -- v + 2^15 is in [0, 2^16)
            uint256 field = uint256(v + int256(VALUE_OFFSET));
            words[slot / OUTPUTS_PER_WORD] |= field << (OUTPUT_BITS * (slot % OUTPUTS_PER_WORD));
        }
        words[0] |= (values.length << COUNT_SHIFT) | (scaleBits << SCALE_SHIFT);
        ok = true;
    }

    /// @notice Inverse of `pack`: the values packed output words carry.
    /// @param words Packed output words.
    /// @param maxOutputs Number of output slots M, in [1, MAX_OUTPUT_SLOTS].
    /// @return ok False unless `words` is exactly `pack(values, scaleBits, M)` for some values
    /// and scale.
    /// @return values The values (meaningful only if ok).
    /// @return scaleBits The output scale (meaningful only if ok).
    function unpack(uint256[] memory words, uint256 maxOutputs)
        internal
        pure
        returns (bool ok, int256[] memory values, uint8 scaleBits)
    {
        if (maxOutputs == 0 || maxOutputs > MAX_OUTPUT_SLOTS || words.length != wordCount(maxOutputs)) {
            return (false, values, 0);
        }
        uint256 n = (words[0] >> COUNT_SHIFT) & MAX_OUTPUT_SLOTS;
        uint256 scale = words[0] >> SCALE_SHIFT; // bits 252..255 set make it exceed MAX_SCALE_BITS
        if (n > maxOutputs || scale > MAX_SCALE_BITS) return (false, values, 0);
        // forge-lint: disable-next-line(unsafe-typecast) -- at most 63
        scaleBits = uint8(scale);
        for (uint256 w = 1; w < words.length; ++w) {
            if (words[w] >> COUNT_SHIFT != 0) return (false, values, 0);
        }
        values = new int256[](n);
        for (uint256 slot = 0; slot < words.length * OUTPUTS_PER_WORD; ++slot) {
            uint256 field = (words[slot / OUTPUTS_PER_WORD] >> (OUTPUT_BITS * (slot % OUTPUTS_PER_WORD))) & 0xffff;
            if (slot < n) {
                // forge-lint: disable-next-line(unsafe-typecast) -- a 16-bit field
                values[slot] = int256(field) - int256(VALUE_OFFSET);
            } else if (field != (slot < maxOutputs ? VALUE_OFFSET : 0)) {
                return (false, values, 0);
            }
        }
        ok = true;
    }

    /// @notice Encodes outputs the way `verifyInference` expects them.
    /// @param values Fixed-point values.
    /// @param scaleBits Fractional bits.
    /// @return The encoded output.
    function encode(int256[] memory values, uint8 scaleBits) internal pure returns (bytes memory) {
        return abi.encode(values, scaleBits);
    }
}
