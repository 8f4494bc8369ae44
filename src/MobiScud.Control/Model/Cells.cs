namespace MobiScud.Control.Model;

/// <summary>
/// E-UTRAN Cell Global Identifier as the signalling carried it (EUTRAN-CGI, TS 36.413 9.2.1.38): the PLMN's MCC and
/// MNC as digits and the 28-bit cell identity (eNB id in the top 20 bits for a macro eNB). The MC does not decide on
/// it; it travels on events so that radio network information (MEC 012) can name real cells.
/// </summary>
public sealed record Ecgi(string Mcc, string Mnc, uint CellId)
{
    public override string ToString() => $"{Mcc}-{Mnc}/cell{CellId:x7}";
}

/// <summary>
/// NR Cell Global Identifier as NGAP carried it (NR-CGI, TS 38.413 9.3.1.7): the PLMN's MCC and MNC as digits and the
/// 36-bit NR cell identity (the gNB id in its top 22..32 bits). A 5G UE's cell, where an LTE UE has an <see cref="Ecgi"/>.
/// </summary>
public sealed record Ncgi(string Mcc, string Mnc, ulong NrCellId)
{
    public override string ToString() => $"{Mcc}-{Mnc}/nrcell{NrCellId:x9}";
}
