using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.S1ap;

namespace MobiScud.Tracking.Tests.Partial;

/// <summary>Identities that turn out to be one eNB: S1AP signals straight into <see cref="UeTracker.Apply"/>.</summary>
public sealed class EnbMergeTests
{
    private static readonly NetEndpoint _mme = new(NetAddress.Parse("10.0.0.1"), 36412);

    private static (TrackerState State, List<TrackerNote> Notes) Apply(TrackerState state, List<TrackerNote> notes, S1apSignal s)
    {
        var step = UeTracker.Apply(state, s);
        UeTracker.CheckInvariants(step.State);
        notes.AddRange(step.Notes);
        return (step.State, notes);
    }

    [Fact]
    public void A_second_association_known_by_its_cell_is_the_home_enb_an_s1_setup_names()
    {
        // One HeNB, two SCTP associations (a restart on a new port; only the second one's S1 Setup captured). Its cell
        // first reads as macro eNB 0xA2D; the S1 Setup names Home eNB 0x00A2D01, whose id is that cell: one eNB.
        var first = new NetEndpoint(NetAddress.Parse("10.1.0.2"), 40000);
        var second = new NetEndpoint(NetAddress.Parse("10.1.0.2"), 36412);
        var (state, notes) = Apply(TrackerState.Empty, [], new S1apSignal(TimeSpan.Zero, first, _mme, S1apProcedureCode.InitialUeMessage, S1apPduType.InitiatingMessage)
        {
            EnbUeS1apId = 1,
            Cgi = new EutranCgi(default, 0x00A2D01),
        });
        Assert.Equal([new EnbId(0xA2D)], state.Enbs.Values.Select(e => e.Id));

        (state, notes) = Apply(state, notes, new S1apSignal(TimeSpan.FromSeconds(1), second, _mme, S1apProcedureCode.S1Setup, S1apPduType.InitiatingMessage)
        {
            GlobalEnbId = new GlobalEnbId(default, EnbIdKind.Home, 0x00A2D01),
        });
        Assert.Equal([new EnbId(0x00A2D01)], state.Enbs.Values.Select(e => e.Id).Distinct());
        Assert.Equal([EnbIdentitySource.Cells, EnbIdentitySource.S1Setup], state.Enbs.Values.Select(e => e.Source).Order());
        Assert.All(state.Enbs.Values, e => Assert.True(e.Home));
        Assert.Contains(notes, n => n.Kind == TrackerNoteKind.EnbIdentity && n.Text.Contains("one eNB with another association's enb-666881", StringComparison.Ordinal));
    }

    [Fact]
    public void Two_cells_on_one_association_make_it_a_macro_enb_whatever_was_named()
    {
        var enb = new NetEndpoint(NetAddress.Parse("10.1.0.3"), 36412);
        var (state, notes) = Apply(TrackerState.Empty, [], new S1apSignal(TimeSpan.Zero, enb, _mme, S1apProcedureCode.S1Setup, S1apPduType.InitiatingMessage)
        {
            GlobalEnbId = new GlobalEnbId(default, EnbIdKind.Home, 0x0000101),
        });
        var other = new NetEndpoint(NetAddress.Parse("10.1.0.4"), 36412);
        foreach (var (cell, frame) in new[] { (0x00B0001u, 1u), (0x00B0002u, 2u) })
        {
            (state, notes) = Apply(state, notes, new S1apSignal(TimeSpan.FromSeconds(frame), other, _mme, S1apProcedureCode.InitialUeMessage, S1apPduType.InitiatingMessage)
            {
                EnbUeS1apId = frame,
                Cgi = new EutranCgi(default, cell),
            });
        }

        // One cell and only Home eNBs named: the Home reading; a second cell: a macro eNB with two cells.
        var identity = state.Enbs.Values.Single(e => e.Source == EnbIdentitySource.Cells);
        Assert.Equal((new EnbId(0xB00), false), (identity.Id, identity.Home));
        Assert.Contains(notes, n => n.Text.Contains("enb-720897 (home reading of cell 0x00B0001) is enb-2816 (macro reading of cells 0x00B0001, 0x00B0002)", StringComparison.Ordinal));
    }
}
