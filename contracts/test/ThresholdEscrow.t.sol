// SPDX-License-Identifier: MIT
pragma solidity ^0.8.29;

import {RegistryTestBase} from "./utils/RegistryTestBase.sol";
import {ThresholdEscrow} from "../src/examples/ThresholdEscrow.sol";

/// @dev Refuses ETH, to exercise the failed-transfer path.
contract RejectingReceiver {
    receive() external payable {
        revert("no");
    }
}

/// @notice The example consumer: releases only on an attested output above the threshold.
contract ThresholdEscrowTest is RegistryTestBase {
    ThresholdEscrow internal escrow;
    uint256 internal modelId;
    address internal depositor = makeAddr("depositor");
    address internal beneficiary = makeAddr("beneficiary");
    uint64 internal deadline;

    function setUp() public override {
        super.setUp();
        modelId = _registerModel();
        escrow = new ThresholdEscrow(registry, modelId, VK);
        deadline = uint64(block.timestamp + 1 days);
        vm.deal(depositor, 10 ether);
    }

    /// @dev Escrow on output 2 of INPUT (values 5, -3, 1000 when attested) above `threshold`.
    function _deposit(int256 threshold) internal returns (uint256 id) {
        vm.prank(depositor);
        id = escrow.deposit{value: 1 ether}(beneficiary, INPUT, 2, threshold, deadline);
    }

    function test_constructor_pinsModelScale() public view {
        assertEq(escrow.modelId(), modelId);
        assertEq(escrow.scaleBits(), SCALE);
        assertEq(address(escrow.registry()), address(registry));
    }

    function test_constructor_revertsForUnexpectedModel() public {
        vm.expectRevert(abi.encodeWithSelector(ThresholdEscrow.UnexpectedModel.selector, modelId));
        new ThresholdEscrow(registry, modelId, bytes32(uint256(1)));
        vm.prank(owner);
        registry.deprecateModel(modelId);
        vm.expectRevert(abi.encodeWithSelector(ThresholdEscrow.UnexpectedModel.selector, modelId));
        new ThresholdEscrow(registry, modelId, VK);
    }

    function test_deposit_recordsTerms() public {
        uint256 id = _deposit(999);
        ThresholdEscrow.Escrow memory e = escrow.getEscrow(id);
        assertEq(e.depositor, depositor);
        assertEq(e.beneficiary, beneficiary);
        assertEq(e.inputCommitment, INPUT);
        assertEq(e.threshold, 999);
        assertEq(e.amount, 1 ether);
        assertEq(e.deadline, deadline);
        assertEq(e.outputIndex, 2);
        assertFalse(e.settled);
        assertEq(address(escrow).balance, 1 ether);
    }

    function test_deposit_revertsWithoutValueOrWithPastDeadline() public {
        vm.expectRevert(ThresholdEscrow.ZeroAmount.selector);
        escrow.deposit(beneficiary, INPUT, 0, 0, deadline);
        uint64 past = uint64(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(ThresholdEscrow.DeadlineInPast.selector, past));
        vm.prank(depositor);
        escrow.deposit{value: 1}(beneficiary, INPUT, 0, 0, past);
    }

    function test_release_paysBeneficiaryOnAttestedOutputAboveThreshold() public {
        uint256 id = _deposit(999);
        bytes32 inferenceId = _store(modelId, INPUT, _values3());
        vm.expectEmit(address(escrow));
        emit ThresholdEscrow.Released(id, inferenceId, 1000);
        vm.prank(stranger); // anyone may trigger it
        escrow.release(id);
        assertEq(beneficiary.balance, 1 ether);
        assertTrue(escrow.getEscrow(id).settled);
    }

    function test_release_worksAfterModelDeprecation() public {
        uint256 id = _deposit(999);
        _store(modelId, INPUT, _values3());
        vm.prank(owner);
        registry.deprecateModel(modelId);
        escrow.release(id);
        assertEq(beneficiary.balance, 1 ether);
    }

    function test_release_revertsAtOrBelowThreshold() public {
        uint256 id = _deposit(1000);
        _store(modelId, INPUT, _values3());
        vm.expectRevert(abi.encodeWithSelector(ThresholdEscrow.BelowThreshold.selector, 1000, 1000));
        escrow.release(id);
    }

    function test_release_revertsWithoutAttestation() public {
        uint256 id = _deposit(0);
        _store(modelId, bytes32(uint256(INPUT) + 1), _values3()); // another input
        vm.expectRevert(abi.encodeWithSelector(ThresholdEscrow.NoAttestation.selector, id));
        escrow.release(id);
    }

    function test_release_ignoresVerifiedButUnstoredInference() public {
        uint256 id = _deposit(0);
        int256[] memory v = _values3();
        registry.verifyInference(modelId, INPUT, _output(v), _approvedProof(VK, INPUT, v));
        vm.expectRevert(abi.encodeWithSelector(ThresholdEscrow.NoAttestation.selector, id));
        escrow.release(id);
    }

    function test_release_revertsForMissingOutputIndex() public {
        vm.prank(depositor);
        uint256 id = escrow.deposit{value: 1}(beneficiary, INPUT, 3, 0, deadline);
        _store(modelId, INPUT, _values3());
        vm.expectRevert(abi.encodeWithSelector(ThresholdEscrow.OutputIndexOutOfRange.selector, 3, 3));
        escrow.release(id);
    }

    function test_release_revertsAfterDeadline() public {
        uint256 id = _deposit(0);
        _store(modelId, INPUT, _values3());
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ThresholdEscrow.WrongPhase.selector, id, deadline));
        escrow.release(id);
    }

    function test_release_revertsWhenSettledOrUnknown() public {
        uint256 id = _deposit(0);
        _store(modelId, INPUT, _values3());
        escrow.release(id);
        vm.expectRevert(abi.encodeWithSelector(ThresholdEscrow.AlreadySettled.selector, id));
        escrow.release(id);
        vm.expectRevert(abi.encodeWithSelector(ThresholdEscrow.UnknownEscrow.selector, 9));
        escrow.release(9);
        vm.expectRevert(abi.encodeWithSelector(ThresholdEscrow.UnknownEscrow.selector, 9));
        escrow.getEscrow(9);
    }

    function test_release_revertsWhenTransferFails() public {
        address rejecting = address(new RejectingReceiver());
        vm.prank(depositor);
        uint256 id = escrow.deposit{value: 1}(rejecting, INPUT, 0, 0, deadline);
        _store(modelId, INPUT, _values3());
        vm.expectRevert(abi.encodeWithSelector(ThresholdEscrow.TransferFailed.selector, rejecting));
        escrow.release(id);
        assertFalse(escrow.getEscrow(id).settled, "revert undoes settlement");
    }

    function test_refund_returnsFundsAfterDeadline() public {
        uint256 id = _deposit(5000);
        vm.warp(deadline + 1);
        vm.expectEmit(address(escrow));
        emit ThresholdEscrow.Refunded(id);
        escrow.refund(id);
        assertEq(depositor.balance, 10 ether);
        vm.expectRevert(abi.encodeWithSelector(ThresholdEscrow.AlreadySettled.selector, id));
        escrow.refund(id);
    }

    function test_refund_revertsBeforeDeadline() public {
        uint256 id = _deposit(0);
        vm.expectRevert(abi.encodeWithSelector(ThresholdEscrow.WrongPhase.selector, id, deadline));
        escrow.refund(id);
    }
}
