namespace MobiScud.Protocols.S1ap;

/// <summary>S1AP-PDU CHOICE alternative (TS 36.413 9.3.2).</summary>
public enum S1apPduType : byte
{
    InitiatingMessage = 0,
    SuccessfulOutcome = 1,
    UnsuccessfulOutcome = 2,
}

/// <summary>Criticality ::= ENUMERATED { reject, ignore, notify }.</summary>
public enum Criticality : byte
{
    Reject = 0,
    Ignore = 1,
    Notify = 2,
}

/// <summary>ProcedureCode values (TS 36.413 S1AP-Constants); unknown codes keep their number.</summary>
public enum S1apProcedureCode : byte
{
    HandoverPreparation = 0,
    HandoverResourceAllocation = 1,
    HandoverNotification = 2,
    PathSwitchRequest = 3,
    HandoverCancel = 4,
    ERabSetup = 5,
    ERabModify = 6,
    ERabRelease = 7,
    ERabReleaseIndication = 8,
    InitialContextSetup = 9,
    Paging = 10,
    DownlinkNasTransport = 11,
    InitialUeMessage = 12,
    UplinkNasTransport = 13,
    Reset = 14,
    ErrorIndication = 15,
    NasNonDeliveryIndication = 16,
    S1Setup = 17,
    UeContextReleaseRequest = 18,
    UeContextModification = 21,
    UeCapabilityInfoIndication = 22,
    UeContextRelease = 23,
    EnbStatusTransfer = 24,
    MmeStatusTransfer = 25,
    EnbConfigurationUpdate = 29,
    MmeConfigurationUpdate = 30,
    PrivateMessage = 39,
    ERabModificationIndication = 50,
}

/// <summary>ProtocolIE-ID values the MC uses (TS 36.413 S1AP-Constants).</summary>
public static class S1apIeId
{
    public const ushort MmeUeS1apId = 0;
    public const ushort HandoverType = 1;
    public const ushort Cause = 2;
    public const ushort TargetId = 4;
    public const ushort EnbUeS1apId = 8;
    public const ushort ERabSubjectToDataForwardingList = 12;
    public const ushort ERabToReleaseListHoCmd = 13;
    public const ushort ERabDataForwardingItem = 14;
    public const ushort ERabReleaseItemBearerRelComp = 15;
    public const ushort ERabToBeSetupListBearerSuReq = 16;
    public const ushort ERabToBeSetupItemBearerSuReq = 17;
    public const ushort ERabAdmittedList = 18;
    public const ushort ERabFailedToSetupListHoReqAck = 19;
    public const ushort ERabAdmittedItem = 20;
    public const ushort ERabFailedToSetupItemHoReqAck = 21;
    public const ushort ERabToBeSwitchedDlList = 22;
    public const ushort ERabToBeSwitchedDlItem = 23;
    public const ushort ERabToBeSetupListCtxtSuReq = 24;
    public const ushort NasPdu = 26;
    public const ushort ERabToBeSetupItemHoReq = 27;
    public const ushort ERabSetupListBearerSuRes = 28;
    public const ushort ERabFailedToSetupListBearerSuRes = 29;
    public const ushort ERabToBeModifiedListBearerModReq = 30;
    public const ushort ERabModifyListBearerModRes = 31;
    public const ushort ERabFailedToModifyList = 32;
    public const ushort ERabToBeReleasedList = 33;
    public const ushort ERabFailedToReleaseList = 34;
    public const ushort ERabItem = 35;
    public const ushort ERabToBeModifiedItemBearerModReq = 36;
    public const ushort ERabModifyItemBearerModRes = 37;
    public const ushort ERabReleaseItem = 38;
    public const ushort ERabSetupItemBearerSuRes = 39;
    public const ushort ERabFailedToSetupListCtxtSuRes = 48;
    public const ushort ERabReleaseItemHoCmd = 49;
    public const ushort ERabSetupItemCtxtSuRes = 50;
    public const ushort ERabSetupListCtxtSuRes = 51;
    public const ushort ERabToBeSetupItemCtxtSuReq = 52;
    public const ushort ERabToBeSetupListHoReq = 53;
    public const ushort ERabInformationListItem = 78;
    public const ushort UeAssociatedLogicalS1ConnectionItem = 91;
    public const ushort ResetType = 92;
    public const ushort UeAssociatedLogicalS1ConnectionListResAck = 93;
    public const ushort SourceToTargetTransparentContainer = 104;
    public const ushort GlobalEnbId = 59;
    public const ushort Tai = 67;
    public const ushort ERabReleaseListBearerRelComp = 69;
    public const ushort SourceMmeUeS1apId = 88;
    public const ushort BearersSubjectToStatusTransferItem = 89;
    public const ushort EnbStatusTransferTransparentContainer = 90;
    public const ushort ERabToBeSwitchedUlItem = 94;
    public const ushort ERabToBeSwitchedUlList = 95;
    public const ushort STmsi = 96;
    public const ushort UeS1apIds = 99;
    public const ushort EutranCgi = 100;
    public const ushort ERabFailedToBeReleasedList = 103;
    public const ushort ERabReleasedList = 110;
    public const ushort MmeUeS1apId2 = 158;
    public const ushort ERabToBeModifiedListBearerModInd = 199;
    public const ushort ERabToBeModifiedItemBearerModInd = 200;
    public const ushort ERabNotToBeModifiedListBearerModInd = 201;
    public const ushort ERabNotToBeModifiedItemBearerModInd = 202;
    public const ushort ERabModifyListBearerModConf = 203;
    public const ushort ERabModifyItemBearerModConf = 204;
    public const ushort ERabFailedToModifyListBearerModConf = 205;
    public const ushort ERabToBeReleasedListBearerModConf = 210;
}
