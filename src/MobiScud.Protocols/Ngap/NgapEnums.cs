namespace MobiScud.Protocols.Ngap;

/// <summary>NGAP-PDU CHOICE alternative (TS 38.413 9.4.2).</summary>
public enum NgapPduType : byte
{
    InitiatingMessage = 0,
    SuccessfulOutcome = 1,
    UnsuccessfulOutcome = 2,
}

/// <summary>ProcedureCode values (TS 38.413 9.4.7 NGAP-Constants); unknown codes keep their number.</summary>
public enum NgapProcedureCode : byte
{
    AmfConfigurationUpdate = 0,
    AmfStatusIndication = 1,
    CellTrafficTrace = 2,
    DeactivateTrace = 3,
    DownlinkNasTransport = 4,
    DownlinkNonUeAssociatedNrppaTransport = 5,
    DownlinkRanConfigurationTransfer = 6,
    DownlinkRanStatusTransfer = 7,
    DownlinkUeAssociatedNrppaTransport = 8,
    ErrorIndication = 9,
    HandoverCancel = 10,
    HandoverNotification = 11,
    HandoverPreparation = 12,
    HandoverResourceAllocation = 13,
    InitialContextSetup = 14,
    InitialUeMessage = 15,
    LocationReportingControl = 16,
    LocationReportingFailureIndication = 17,
    LocationReport = 18,
    NasNonDeliveryIndication = 19,
    NgReset = 20,
    NgSetup = 21,
    OverloadStart = 22,
    OverloadStop = 23,
    Paging = 24,
    PathSwitchRequest = 25,
    PduSessionResourceModify = 26,
    PduSessionResourceModifyIndication = 27,
    PduSessionResourceRelease = 28,
    PduSessionResourceSetup = 29,
    PduSessionResourceNotify = 30,
    PrivateMessage = 31,
    PwsCancel = 32,
    PwsFailureIndication = 33,
    PwsRestartIndication = 34,
    RanConfigurationUpdate = 35,
    RerouteNasRequest = 36,
    RrcInactiveTransitionReport = 37,
    TraceFailureIndication = 38,
    TraceStart = 39,
    UeContextModification = 40,
    UeContextRelease = 41,
    UeContextReleaseRequest = 42,
    UeRadioCapabilityCheck = 43,
    UeRadioCapabilityInfoIndication = 44,
    UeTnlaBindingRelease = 45,
    UplinkNasTransport = 46,
    UplinkNonUeAssociatedNrppaTransport = 47,
    UplinkRanConfigurationTransfer = 48,
    UplinkRanStatusTransfer = 49,
    UplinkUeAssociatedNrppaTransport = 50,
    WriteReplaceWarning = 51,
    SecondaryRatDataUsageReport = 52,
}

/// <summary>ProtocolIE-ID values the MC uses (TS 38.413 9.4.7 NGAP-Constants).</summary>
public static class NgapIeId
{
    public const ushort AmfUeNgapId = 10;
    public const ushort Cause = 15;
    public const ushort FiveGSTmsi = 26;
    public const ushort GlobalRanNodeId = 27;
    public const ushort HandoverType = 29;
    public const ushort NasPdu = 38;
    public const ushort PduSessionResourceAdmittedList = 53;
    public const ushort PduSessionResourceFailedToModifyListModRes = 54;
    public const ushort PduSessionResourceFailedToSetupListCxtRes = 55;
    public const ushort PduSessionResourceFailedToSetupListHoAck = 56;
    public const ushort PduSessionResourceFailedToSetupListPsReq = 57;
    public const ushort PduSessionResourceFailedToSetupListSuRes = 58;
    public const ushort PduSessionResourceHandoverList = 59;
    public const ushort PduSessionResourceListCxtRelCpl = 60;
    public const ushort PduSessionResourceListHoRqd = 61;
    public const ushort PduSessionResourceModifyListModCfm = 62;
    public const ushort PduSessionResourceModifyListModInd = 63;
    public const ushort PduSessionResourceModifyListModReq = 64;
    public const ushort PduSessionResourceModifyListModRes = 65;
    public const ushort PduSessionResourceReleasedListPsAck = 68;
    public const ushort PduSessionResourceReleasedListPsFail = 69;
    public const ushort PduSessionResourceReleasedListRelRes = 70;
    public const ushort PduSessionResourceSetupListCxtReq = 71;
    public const ushort PduSessionResourceSetupListCxtRes = 72;
    public const ushort PduSessionResourceSetupListHoReq = 73;
    public const ushort PduSessionResourceSetupListSuReq = 74;
    public const ushort PduSessionResourceSetupListSuRes = 75;
    public const ushort PduSessionResourceToBeSwitchedDlList = 76;
    public const ushort PduSessionResourceSwitchedList = 77;
    public const ushort PduSessionResourceToReleaseListHoCmd = 78;
    public const ushort PduSessionResourceToReleaseListRelCmd = 79;
    public const ushort RanStatusTransferTransparentContainer = 84;
    public const ushort RanUeNgapId = 85;
    public const ushort ResetType = 88;
    public const ushort SourceAmfUeNgapId = 100;
    public const ushort SourceToTargetTransparentContainer = 101;
    public const ushort TargetId = 105;
    public const ushort TargetToSourceTransparentContainer = 106;
    public const ushort UeAssociatedLogicalNgConnectionList = 111;
    public const ushort UeNgapIds = 114;
    public const ushort UserLocationInformation = 121;
    public const ushort PduSessionResourceFailedToSetupListCxtFail = 132;
    public const ushort PduSessionResourceListCxtRelReq = 133;

    // IEs inside the PDU session resource transfers (ProtocolIE-Container based transfers).
    public const ushort AdditionalUlNguUpTnlInformation = 126;
    public const ushort PduSessionType = 134;
    public const ushort QosFlowSetupRequestList = 136;
    public const ushort UlNguUpTnlInformation = 139;
    public const ushort UlNguUpTnlModifyList = 140;
}
