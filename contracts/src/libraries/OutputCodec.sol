// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title The `output` encoding of zkattest inferences and its mapping to BN254 field elements.
/// @notice `output = abi.encode(int256[] values, uint8 scaleBits)`; real value = values[i] / 2^scaleBits.
/// In the proof each value is one public instance: v for v >= 0, r - |v| for v < 0 (r = BN254
/// scalar field modulus).
/// @dev Parsing is strict on purpose: exactly one byte string is accepted per (values, scaleBits),
/// so one inference has exactly one inferenceId and cannot be stored twice under byte-level
/// variants (non-minimal offsets, trailing bytes, dirty uint8 padding).
library OutputCodec {
    /// @notice BN254 scalar field modulus r.
    uint256 internal constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Largest |v| accepted. Beyond it v and v -/+ r would map to the same field element,
    /// and a prover could attest a value that differs from the computed one by a multiple of r.
    uint256 internal constant MAX_ABS_VALUE =
        10944121435919637611123202872628637544274182200208017171849102093287904247808;
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

    /// @notice The field element a value is encoded as in the public instances.
    /// @param v The value.
    /// @return ok False if |v| > MAX_ABS_VALUE (no unique encoding).
    /// @return element v if v >= 0, FIELD_MODULUS - |v| otherwise.
    function toField(int256 v) internal pure returns (bool ok, uint256 element) {
        if (v >= 0) {
            // forge-lint: disable-next-line(unsafe-typecast) -- v >= 0
            element = uint256(v);
            ok = element <= MAX_ABS_VALUE;
        } else {
            // -(v + 1) + 1 avoids negating type(int256).min.
            uint256 magnitude = uint256(-(v + 1)) + 1;
            ok = magnitude <= MAX_ABS_VALUE;
            if (ok) element = FIELD_MODULUS - magnitude;
        }
    }

    /// @notice Whether public instances carry exactly the values of `output`: `instances[i] ==
    /// toField(values[i])` for i < count (each value in range) and `instances[i] == 0` for
    /// count <= i < slots.
    /// @dev The registry's hot loop (up to `slots` iterations per proof), hence assembly; it
    /// mirrors `toField` line by line and a fuzz test checks the two agree.
    /// @param output A parsed output (see `parse`) with `count` values.
    /// @param count Number of values.
    /// @param instances The output instances (a calldata slice of at least `slots` words).
    /// @param slots Number of output instances.
    /// @return ok True iff all match.
    function matchesInstances(bytes calldata output, uint256 count, bytes calldata instances, uint256 slots)
        internal
        pure
        returns (bool ok)
    {
        assembly ("memory-safe") {
            ok := 1
            let values := add(output.offset, 0x60)
            let inst := instances.offset
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                let v := calldataload(add(values, shl(5, i)))
                let element := v
                if slt(v, 0) {
                    // |v| as unsigned; for type(int256).min this is 2^255, rejected below.
                    let magnitude := sub(0, v)
                    ok := and(ok, iszero(gt(magnitude, MAX_ABS_VALUE)))
                    element := sub(FIELD_MODULUS, magnitude)
                }
                if iszero(slt(v, 0)) { ok := and(ok, iszero(gt(v, MAX_ABS_VALUE))) }
                ok := and(ok, eq(element, calldataload(add(inst, shl(5, i)))))
            }
            for { let i := count } lt(i, slots) { i := add(i, 1) } {
                ok := and(ok, iszero(calldataload(add(inst, shl(5, i)))))
            }
        }
    }

    /// @notice Inverse of `toField`.
    /// @param element A field element.
    /// @return ok False if `element` >= FIELD_MODULUS.
    /// @return v The signed value it encodes.
    function fromField(uint256 element) internal pure returns (bool ok, int256 v) {
        if (element >= FIELD_MODULUS) return (false, 0);
        ok = true;
        // Both branches fit in int256: each magnitude is at most MAX_ABS_VALUE < 2^254.
        // forge-lint: disable-next-line(unsafe-typecast)
        v = element <= MAX_ABS_VALUE ? int256(element) : -int256(FIELD_MODULUS - element);
    }

    /// @notice Encodes outputs the way `verifyInference` expects them.
    /// @param values Fixed-point values.
    /// @param scaleBits Fractional bits.
    /// @return The encoded output.
    function encode(int256[] memory values, uint8 scaleBits) internal pure returns (bytes memory) {
        return abi.encode(values, scaleBits);
    }
}
