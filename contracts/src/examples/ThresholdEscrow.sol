// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {IAttestationRegistry} from "../interfaces/IAttestationRegistry.sol";
import {IERCZKMLRegistry} from "../interfaces/IERCZKMLRegistry.sol";

/// @title Example dApp: ETH escrow released by an attested model output.
/// @notice A depositor locks ETH for a beneficiary on a condition about one specific input:
/// "the pinned model's output `outputIndex` on the input committed to by `inputCommitment`
/// is above `threshold`". Once the registry holds such an attested output, anyone can
/// release the ETH to the beneficiary; if none does by the deadline, anyone can refund it.
/// @dev Shows the integration pattern: pin the model (modelId + its vkHash, checked once, since
/// the registry never changes a model's vkHash) and read the attested output by
/// (modelId, inputCommitment). The escrow never sees a proof. Records are permanent facts,
/// so a later deprecation of the model does not block a release.
contract ThresholdEscrow {
    /// @notice One escrow. `threshold` is a fixed-point value at the model's output scale.
    struct Escrow {
        address depositor;
        address beneficiary;
        bytes32 inputCommitment;
        int256 threshold;
        uint256 amount;
        uint64 deadline;
        uint16 outputIndex;
        bool settled;
    }

    /// @notice The attestation registry read for outputs.
    IAttestationRegistry public immutable registry;
    /// @notice The model whose outputs decide releases.
    uint256 public immutable modelId;
    /// @notice The model's output scale; thresholds are fixed-point at this scale.
    uint8 public immutable scaleBits;

    /// @notice Number of escrows created; ids are 1..escrowCount.
    uint256 public escrowCount;
    mapping(uint256 escrowId => Escrow) private _escrows;

    /// @notice An escrow was funded.
    event Deposited(
        uint256 indexed escrowId,
        address indexed depositor,
        address indexed beneficiary,
        bytes32 inputCommitment,
        uint16 outputIndex,
        int256 threshold,
        uint256 amount,
        uint64 deadline
    );
    /// @notice An escrow was paid to its beneficiary on the attested `value`.
    event Released(uint256 indexed escrowId, bytes32 indexed inferenceId, int256 value);
    /// @notice An escrow was returned to its depositor after its deadline.
    event Refunded(uint256 indexed escrowId);

    /// @notice Constructor: the model is unknown, deprecated, or its vkHash is not the expected one.
    error UnexpectedModel(uint256 modelId);
    /// @notice Deposits must carry ETH.
    error ZeroAmount();
    /// @notice The deadline must be in the future.
    error DeadlineInPast(uint64 deadline);
    /// @notice No escrow has this id.
    error UnknownEscrow(uint256 escrowId);
    /// @notice The escrow was already released or refunded.
    error AlreadySettled(uint256 escrowId);
    /// @notice Release after the deadline, or refund before it.
    error WrongPhase(uint256 escrowId, uint64 deadline);
    /// @notice The registry holds no attested output for the escrow's input.
    error NoAttestation(uint256 escrowId);
    /// @notice The attested output has no value at `outputIndex`.
    error OutputIndexOutOfRange(uint16 outputIndex, uint256 outputs);
    /// @notice The attested value does not exceed the threshold.
    error BelowThreshold(int256 value, int256 threshold);
    /// @notice The ETH transfer failed.
    error TransferFailed(address to);

    /// @param registry_ The attestation registry.
    /// @param modelId_ The model whose outputs decide releases.
    /// @param expectedVkHash The verifying-key digest the depositor audited; pins the model.
    constructor(IAttestationRegistry registry_, uint256 modelId_, bytes32 expectedVkHash) {
        (IERCZKMLRegistry.ModelCommitment memory c, bool deprecated,) = registry_.getModel(modelId_);
        if (deprecated || c.vkHash != expectedVkHash) revert UnexpectedModel(modelId_);
        registry = registry_;
        modelId = modelId_;
        scaleBits = registry_.outputScaleBitsOf(modelId_);
    }

    /// @notice Locks `msg.value` for `beneficiary` until `deadline`.
    /// @param beneficiary Receives the ETH on release.
    /// @param inputCommitment The input the condition is about.
    /// @param outputIndex Which output value is compared.
    /// @param threshold Release iff the attested value is strictly greater (fixed-point, `scaleBits`).
    /// @param deadline Last timestamp at which release is possible; refund is possible after it.
    /// @return escrowId The new escrow's id.
    function deposit(
        address beneficiary,
        bytes32 inputCommitment,
        uint16 outputIndex,
        int256 threshold,
        uint64 deadline
    ) external payable returns (uint256 escrowId) {
        if (msg.value == 0) revert ZeroAmount();
        // forge-lint: disable-next-line(block-timestamp) -- deadlines are hours or days; seconds of drift do not matter
        if (deadline <= block.timestamp) revert DeadlineInPast(deadline);
        escrowId = ++escrowCount;
        _escrows[escrowId] = Escrow({
            depositor: msg.sender,
            beneficiary: beneficiary,
            inputCommitment: inputCommitment,
            threshold: threshold,
            amount: msg.value,
            deadline: deadline,
            outputIndex: outputIndex,
            settled: false
        });
        emit Deposited(escrowId, msg.sender, beneficiary, inputCommitment, outputIndex, threshold, msg.value, deadline);
    }

    /// @notice Pays the beneficiary if the registry attests an output above the threshold.
    /// Callable by anyone until the deadline.
    /// @param escrowId The escrow.
    function release(uint256 escrowId) external {
        Escrow storage e = _open(escrowId);
        // forge-lint: disable-next-line(block-timestamp) -- deadlines are hours or days; seconds of drift do not matter
        if (block.timestamp > e.deadline) revert WrongPhase(escrowId, e.deadline);
        bytes32 inferenceId = registry.latestInference(modelId, e.inputCommitment);
        if (inferenceId == bytes32(0)) revert NoAttestation(escrowId);
        (int256[] memory values,) = registry.getAttestedOutput(inferenceId);
        if (e.outputIndex >= values.length) revert OutputIndexOutOfRange(e.outputIndex, values.length);
        int256 value = values[e.outputIndex];
        if (value <= e.threshold) revert BelowThreshold(value, e.threshold);
        e.settled = true; // before the transfer: no reentrant second payout
        emit Released(escrowId, inferenceId, value);
        _pay(e.beneficiary, e.amount);
    }

    /// @notice Returns the ETH to the depositor after the deadline. Callable by anyone.
    /// @param escrowId The escrow.
    function refund(uint256 escrowId) external {
        Escrow storage e = _open(escrowId);
        // forge-lint: disable-next-line(block-timestamp) -- deadlines are hours or days; seconds of drift do not matter
        if (block.timestamp <= e.deadline) revert WrongPhase(escrowId, e.deadline);
        e.settled = true;
        emit Refunded(escrowId);
        _pay(e.depositor, e.amount);
    }

    /// @notice An escrow's terms and state.
    /// @param escrowId The escrow.
    /// @return The escrow.
    function getEscrow(uint256 escrowId) external view returns (Escrow memory) {
        if (_escrows[escrowId].depositor == address(0)) revert UnknownEscrow(escrowId);
        return _escrows[escrowId];
    }

    function _open(uint256 escrowId) private view returns (Escrow storage e) {
        e = _escrows[escrowId];
        if (e.depositor == address(0)) revert UnknownEscrow(escrowId);
        if (e.settled) revert AlreadySettled(escrowId);
    }

    function _pay(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to);
    }
}
