using DataPlane.Protocol.Security;
using DataPlane.Wire;
using static DataPlane.Protocol.Tests.Security.SecurityFixture;

namespace DataPlane.Protocol.Tests.Security;

/// <summary>
/// An LMA shard's ESP sequence state in its store (issue 19): after a failover the new active continues every SA past
/// anything the failed one sent (the MAG does not take its PBAs for replays, no sequence number or GCM IV is used
/// twice), and it keeps refusing what the failed one had accepted.
/// </summary>
public sealed class ReplicatedSequenceStateTests
{
    private static readonly SecurityAssociationPairOptions Hmac = Pair("a", 0x1001, 0x2001, 10);
    private static readonly SecurityAssociationPairOptions Gcm = Pair("g", 0x1003, 0x2003, 30, EspAlgorithm.Aes128Gcm16);
    private const uint Block = SignallingSecurityOptions.SequenceReservationBlock;

    /// <summary>The shard's store: what was committed, merged by key.</summary>
    private sealed class Store
    {
        public Dictionary<SecurityStateKey, uint>? State;

        public void Commit(ReplicatedSequenceState member, Dictionary<SecurityStateKey, uint> write)
        {
            State ??= [];
            foreach (var (k, v) in write) State[k] = v;
            member.Written(write);
        }

        public uint Outbound(uint spi) => State!.Single(kv => kv.Key.Direction == SaDirection.Outbound && kv.Key.Spi == spi).Value;
    }

    /// <summary>Protect a PBA and send it if the guard allows (as SecureSignalling.Send does); its sequence number, or null if held.</summary>
    private static uint? SendPba(SignallingSecurity lma, ReplicatedSequenceState guard, SignallingSecurity mag)
    {
        var esp = Protect(lma, MagAt, Pbu());
        if (!guard.MaySend(lma)) return null;
        var verdict = Open(mag, LmaAt, MagAt, esp).Verdict;
        Assert.True(verdict.Accepted, verdict.Reason.ToString());
        return EspPacket.ReadSequenceNumber(esp);
    }

    [Theory]
    [InlineData(EspAlgorithm.NullHmacSha256_128)]
    [InlineData(EspAlgorithm.Aes128Gcm16)]
    public void After_a_failover_every_sa_continues_past_what_the_failed_active_sent_and_old_pbus_stay_replays(EspAlgorithm algorithm)
    {
        var pair = algorithm == EspAlgorithm.Aes128Gcm16 ? Gcm : Hmac;
        using var mag = MagSide(pair);
        using var active = LmaSide(pair);
        using var standby = LmaSide(pair);
        var store = new Store();
        var activeGuard = new ReplicatedSequenceState();
        store.Commit(activeGuard, activeGuard.TakeOver(active, store.State)); // a new shard: nothing stored yet
        Assert.True(activeGuard.Serving);

        // Some traffic, with the store answering every write; an old PBU is recorded for a replay later.
        var recorded = Protect(mag, LmaAt, Pbu());
        Assert.True(Open(active, MagAt, LmaAt, recorded).Verdict.Accepted);
        uint sent = 0;
        var ivs = new HashSet<string>();
        for (int i = 0; i < 50; i++)
        {
            Assert.True(Open(active, MagAt, LmaAt, Protect(mag, LmaAt, Pbu())).Verdict.Accepted);
            sent = SendPba(active, activeGuard, mag) ?? throw new Xunit.Sdk.XunitException("held although the store has the reservation");
            if (activeGuard.NextWrite(active) is { } w) store.Commit(activeGuard, w);
        }
        // The store has the inbound right edge past the recorded PBU.
        Assert.True(store.State!.Single(kv => kv.Key.Direction == SaDirection.Inbound).Value >= 2);

        // The active runs on while the store stops committing (its writes are lost with it): it goes only as far
        // as what the store already has: one block ahead of its reservation at the last commit (so up to two blocks
        // of messages without a commit), never further.
        uint committed = store.Outbound(pair.InboundSpi);
        int held = 0;
        for (int i = 0; i < 2 * (int)Block + 10; i++)
        {
            if (SendPba(active, activeGuard, mag) is { } s) sent = s;
            else held++;
            activeGuard.NextWrite(active); // issued, never answered
        }
        Assert.True(sent <= committed, $"sent {sent} past the committed {committed}");
        Assert.True(held > 0);
        Assert.Equal(committed, sent);

        // The active dies. The standby wins the election, reads the store and stores its own state before it serves.
        var standbyGuard = new ReplicatedSequenceState();
        var takeover = standbyGuard.TakeOver(standby, store.State);
        Assert.False(standbyGuard.MaySend(standby)); // not before that write is committed
        store.Commit(standbyGuard, takeover);
        var first = SendPba(standby, standbyGuard, mag);
        Assert.NotNull(first);
        Assert.True(first > sent, $"the new active's first PBA has sequence {first}, the failed one sent up to {sent}");
        // The MAG's next PBU is accepted, the recorded one is a replay.
        Assert.True(Open(standby, MagAt, LmaAt, Protect(mag, LmaAt, Pbu())).Verdict.Accepted);
        Assert.Equal(SecurityDropReason.Replay, Open(standby, MagAt, LmaAt, recorded).Verdict.Reason);
        // And it keeps going without a hold while the store answers.
        for (int i = 0; i < 20; i++)
        {
            Assert.NotNull(SendPba(standby, standbyGuard, mag));
            if (standbyGuard.NextWrite(standby) is { } w) store.Commit(standbyGuard, w);
        }
        Assert.Equal(0, mag.Counters.Drops.Total);
    }

    [Fact]
    public void Without_the_stored_state_the_new_active_would_be_taken_for_a_replayer()
    {
        using var mag = MagSide(Hmac);
        using var active = LmaSide(Hmac);
        for (int i = 0; i < 5; i++) Open(mag, LmaAt, MagAt, Protect(active, MagAt, Pbu()));
        using var amnesiac = LmaSide(Hmac);
        Assert.Equal(SecurityDropReason.Replay, Open(mag, LmaAt, MagAt, Protect(amnesiac, MagAt, Pbu())).Verdict.Reason);
    }

    [Fact]
    public void A_member_that_stepped_down_sends_nothing_and_a_late_commit_does_not_revive_it()
    {
        using var mag = MagSide(Hmac);
        using var lma = LmaSide(Hmac);
        var store = new Store();
        var guard = new ReplicatedSequenceState();
        var write = guard.TakeOver(lma, null);
        Assert.Null(SendPba(lma, guard, mag));
        guard.StepDown();
        guard.Written(write); // the answer to a write from before the step-down
        Assert.False(guard.Serving);
        Assert.Null(SendPba(lma, guard, mag));
        Assert.Null(guard.NextWrite(lma));
        // A later takeover serves again once its own write is in.
        store.Commit(guard, guard.TakeOver(lma, store.State));
        Assert.NotNull(SendPba(lma, guard, mag));
    }

    [Fact]
    public void Outbound_values_are_written_one_block_ahead_and_inbound_edges_as_they_are()
    {
        using var mag = MagSide(Hmac);
        using var lma = LmaSide(Hmac);
        for (int i = 0; i < 3; i++) Open(lma, MagAt, LmaAt, Protect(mag, LmaAt, Pbu()));
        var ahead = ReplicatedSequenceState.AheadOf(lma);
        Assert.Equal(Block, ahead[new SecurityStateKey(SaDirection.Outbound, MagAt, 0x2001)]); // nothing sent yet: covers the first block
        Assert.Equal(3u, ahead[new SecurityStateKey(SaDirection.Inbound, MagAt, 0x1001)]);
        Protect(lma, MagAt, Pbu());
        Assert.Equal(2 * Block, ReplicatedSequenceState.AheadOf(lma)[new SecurityStateKey(SaDirection.Outbound, MagAt, 0x2001)]);
    }
}
