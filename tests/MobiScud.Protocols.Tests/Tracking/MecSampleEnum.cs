namespace MobiScud.Protocols.Tests.Tracking.Mec;

/// <summary>Stands for a MEC body's enum that the ETSI schema makes an integer (MEC 012 CellChangeType is 1-4).</summary>
public enum CellChangeType
{
    Intra = 1,
    InterSameRat = 2,
}
