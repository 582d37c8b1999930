using DataPlane.Tests.Shared;
using DataPlane.Protocol.Security;
using DataPlane.Wire;
using static DataPlane.Protocol.Tests.Security.SecurityFixture;

namespace DataPlane.Protocol.Tests.Security;

/// <summary>RFC 4303 inbound and outbound processing for the Mobility Header, message by message.</summary>
public sealed class SignallingSecurityTests
{
    private static readonly SecurityAssociationPairOptions A = Pair("a", 0x1001, 0x2001, 10);
    private static readonly SecurityAssociationPairOptions B = Pair("b", 0x1002, 0x2002, 20);

    [Fact]
    public void A_protected_pbu_is_the_hand_built_esp_null_packet_and_opens_at_the_lma()
    {
        using var mag = MagSide(A);
        using var lma = LmaSide(A);
        var pbu = Pbu();
        var esp = Protect(mag, LmaAt, pbu);
        // Byte for byte what an independent ENCR_NULL + HMAC-SHA-256-128 implementation sends as its first packet.
        Assert.Equal(HandBuilt(0x1001, 1, pbu, 135, A.OutboundKey), esp);
        var (verdict, payload) = Open(lma, MagAt, LmaAt, esp);
        Assert.True(verdict.Accepted, verdict.Reason.ToString());
        Assert.Equal(pbu, payload);
        Assert.Equal(1, lma.Counters.Accepted);
    }

    [Fact]
    public void Answers_go_back_on_the_mirrored_sa()
    {
        using var mag = MagSide(A);
        using var lma = LmaSide(A);
        var esp = Protect(lma, MagAt, Pbu());
        Assert.Equal(0x2001u, EspPacket.ReadSpi(esp));
        Assert.True(Open(mag, LmaAt, MagAt, esp).Verdict.Accepted);
    }

    [Fact]
    public void A_replayed_packet_is_dropped_and_counted()
    {
        using var mag = MagSide(A);
        using var lma = LmaSide(A);
        var esp = Protect(mag, LmaAt, Pbu());
        Assert.True(Open(lma, MagAt, LmaAt, esp).Verdict.Accepted);
        var again = Open(lma, MagAt, LmaAt, esp).Verdict;
        Assert.False(again.Accepted);
        Assert.Equal(SecurityDropReason.Replay, again.Reason);
        Assert.Equal(1, lma.Counters.Drops[SecurityDropReason.Replay]);
        Assert.Equal(1, again.Association!.ReplayDrops);
    }

    [Fact]
    public void A_wrong_key_or_one_flipped_bit_fails_the_icv()
    {
        using var forger = MagSide(A with { OutboundKey = Key(99) });
        using var mag = MagSide(A);
        using var lma = LmaSide(A);
        Assert.Equal(SecurityDropReason.AuthenticationFailed, Open(lma, MagAt, LmaAt, Protect(forger, LmaAt, Pbu())).Verdict.Reason);
        var esp = Protect(mag, LmaAt, Pbu());
        for (int i = 0; i < esp.Length; i++)
        {
            var bad = (byte[])esp.Clone();
            bad[i] ^= 0x40;
            var v = Open(lma, MagAt, LmaAt, bad).Verdict;
            Assert.False(v.Accepted, $"byte {i} flipped was accepted");
        }
        // The original still passes afterwards: failures never move the window.
        Assert.True(Open(lma, MagAt, LmaAt, esp).Verdict.Accepted);
    }

    [Fact]
    public void A_valid_sa_used_from_another_address_is_refused()
    {
        using var mag = MagSide(A);
        using var lma = LmaSide(A);
        Assert.Equal(SecurityDropReason.WrongPeer, Open(lma, Stranger, LmaAt, Protect(mag, LmaAt, Pbu())).Verdict.Reason);
    }

    [Fact]
    public void Unknown_spi_unprotected_and_no_sa_outbound_are_counted_by_reason()
    {
        using var lma = LmaSide(A);
        using var other = MagSide(B);
        Assert.Equal(SecurityDropReason.UnknownSpi, Open(lma, MagAt, LmaAt, Protect(other, LmaAt, Pbu())).Verdict.Reason);
        Assert.False(lma.AcceptPlaintext(MagAt));
        Assert.False(lma.TryProtect(Stranger, Pbu(), new byte[512], Now, out _));
        Assert.Equal(1, lma.Counters.Drops[SecurityDropReason.UnknownSpi]);
        Assert.Equal(1, lma.Counters.Drops[SecurityDropReason.Unprotected]);
        Assert.Equal(1, lma.Counters.Drops[SecurityDropReason.NoSecurityAssociation]);
    }

    [Fact]
    public void Without_keys_plaintext_is_accepted()
    {
        using var off = new SignallingSecurity(SignallingSecurityOptions.Disabled, new SplitMix64Random(1));
        Assert.False(off.Enabled);
        Assert.True(off.AcceptPlaintext(MagAt));
    }

    [Fact]
    public void Authenticated_bad_padding_and_a_payload_other_than_mh_are_refused()
    {
        using var lma = LmaSide(A);
        var badPadding = HandBuilt(0x1001, 1, Pbu(), 135, A.OutboundKey, padding: [1, 3]);
        Assert.Equal(SecurityDropReason.BadPadding, Open(lma, MagAt, LmaAt, badPadding).Verdict.Reason);
        var dummy = HandBuilt(0x1001, 2, Pbu(), 59, A.OutboundKey);
        Assert.Equal(SecurityDropReason.NotMobilityHeader, Open(lma, MagAt, LmaAt, dummy).Verdict.Reason);
    }

    [Fact]
    public void Reordering_inside_the_window_is_fine_outside_it_is_a_replay()
    {
        using var mag = MagSide(A);
        using var lma = LmaSide(A);
        var packets = Enumerable.Range(0, 100).Select(_ => Protect(mag, LmaAt, Pbu())).ToArray();
        Assert.True(Open(lma, MagAt, LmaAt, packets[99]).Verdict.Accepted); // sequence 100 first
        Assert.True(Open(lma, MagAt, LmaAt, packets[50]).Verdict.Accepted); // 51: inside the 64-packet window
        Assert.Equal(SecurityDropReason.Replay, Open(lma, MagAt, LmaAt, packets[10]).Verdict.Reason); // 11: left of it
        Assert.Equal(SecurityDropReason.Replay, Open(lma, MagAt, LmaAt, packets[50]).Verdict.Reason); // 51 again
    }

    [Fact]
    public void Aes_gcm_hides_the_mobility_header_and_detects_tampering()
    {
        foreach (var algorithm in new[] { EspAlgorithm.Aes128Gcm16, EspAlgorithm.Aes256Gcm16 })
        {
            var pair = Pair("gcm", 0x3001, 0x4001, 30, algorithm);
            using var mag = MagSide(pair);
            using var lma = LmaSide(pair);
            var pbu = Pbu();
            var esp = Protect(mag, LmaAt, pbu);
            Assert.Equal(8 + 8 + pbu.Length + 2 + 2 + 16, esp.Length); // header, IV, payload, padding to 4, trailer, ICV
            Assert.DoesNotContain("vm1@example.net", System.Text.Encoding.ASCII.GetString(esp));
            var bad = (byte[])esp.Clone();
            bad[20] ^= 1;
            Assert.Equal(SecurityDropReason.AuthenticationFailed, Open(lma, MagAt, LmaAt, bad).Verdict.Reason);
            var (verdict, payload) = Open(lma, MagAt, LmaAt, esp);
            Assert.True(verdict.Accepted, $"{algorithm}: {verdict.Reason}");
            Assert.Equal(pbu, payload);
        }
    }

    [Fact]
    public void Aes_gcm_never_repeats_an_iv_across_restarts()
    {
        var pair = Pair("gcm", 0x3001, 0x4001, 30, EspAlgorithm.Aes128Gcm16);
        using var first = MagSide(pair);
        var ivs = new HashSet<string>();
        for (int i = 0; i < 10; i++) Assert.True(ivs.Add(Convert.ToHexString(Protect(first, LmaAt, Pbu()).AsSpan(8, 8))));
        using var restarted = MagSide(pair);
        restarted.RestoreState(first.ExportState());
        for (int i = 0; i < 10; i++) Assert.True(ivs.Add(Convert.ToHexString(Protect(restarted, LmaAt, Pbu()).AsSpan(8, 8))));
    }

    [Fact]
    public void The_first_message_reserves_a_block_which_must_be_persisted_before_it_is_sent()
    {
        using var mag = MagSide(A);
        Assert.False(mag.MustPersistBeforeSending);
        Protect(mag, LmaAt, Pbu());
        Assert.True(mag.MustPersistBeforeSending);
        var sa = mag.OutboundFor(LmaAt)!;
        Assert.Equal(SignallingSecurityOptions.SequenceReservationBlock, sa.ReservedThrough);
        Assert.Equal(SignallingSecurityOptions.SequenceReservationBlock, mag.ExportState()[new SecurityStateKey(SaDirection.Outbound, LmaAt, 0x1001)]);
        mag.MarkPersisted();
        for (int i = 0; i < 100; i++) Protect(mag, LmaAt, Pbu());
        Assert.False(mag.MustPersistBeforeSending); // still inside the block: no write per message
    }

    [Fact]
    public void A_restarted_sender_jumps_past_its_reservation_and_is_not_taken_for_a_replayer()
    {
        using var lma = LmaSide(A);
        using var before = MagSide(A);
        for (int i = 0; i < 5; i++) Assert.True(Open(lma, MagAt, LmaAt, Protect(before, LmaAt, Pbu())).Verdict.Accepted);
        var persisted = before.ExportState().ToDictionary();

        using var after = MagSide(A); // the restarted MAG, same keys
        after.RestoreState(persisted);
        var esp = Protect(after, LmaAt, Pbu());
        Assert.Equal(SignallingSecurityOptions.SequenceReservationBlock + 1, EspPacket.ReadSequenceNumber(esp));
        Assert.True(after.MustPersistBeforeSending);
        Assert.True(Open(lma, MagAt, LmaAt, esp).Verdict.Accepted);

        // Without the state it would start at 1 again, and the LMA would drop it as a replay.
        using var amnesiac = MagSide(A);
        Assert.Equal(SecurityDropReason.Replay, Open(lma, MagAt, LmaAt, Protect(amnesiac, LmaAt, Pbu())).Verdict.Reason);
    }

    [Fact]
    public void A_restarted_receiver_keeps_refusing_what_it_had_already_accepted()
    {
        using var mag = MagSide(A);
        using var lma = LmaSide(A);
        var recorded = Enumerable.Range(0, 3).Select(_ => Protect(mag, LmaAt, Pbu())).ToArray();
        foreach (var p in recorded) Assert.True(Open(lma, MagAt, LmaAt, p).Verdict.Accepted);
        using var restarted = LmaSide(A);
        restarted.RestoreState(lma.ExportState());
        foreach (var p in recorded) Assert.Equal(SecurityDropReason.Replay, Open(restarted, MagAt, LmaAt, p).Verdict.Reason);
        Assert.True(Open(restarted, MagAt, LmaAt, Protect(mag, LmaAt, Pbu())).Verdict.Accepted);
    }

    [Fact]
    public void Key_rollover_moves_both_ends_to_the_new_pair_without_losing_a_message()
    {
        using var mag = MagSide(A);
        using var lma = LmaSide(A);
        void Exchange(uint magSends, uint lmaSends)
        {
            var up = Protect(mag, LmaAt, Pbu());
            Assert.Equal(magSends, EspPacket.ReadSpi(up));
            Assert.True(Open(lma, MagAt, LmaAt, up).Verdict.Accepted);
            var down = Protect(lma, MagAt, Pbu());
            Assert.Equal(lmaSends, EspPacket.ReadSpi(down));
            Assert.True(Open(mag, LmaAt, MagAt, down).Verdict.Accepted);
        }
        Exchange(0x1001, 0x2001);
        // Step 1: the LMA learns the new pair. It accepts both and keeps answering on the one the MAG uses.
        lma.Reconfigure(lma.Options with { Peers = [new SecurityPeerOptions(MagAt, [Mirror(A), Mirror(B)])] });
        Exchange(0x1001, 0x2001);
        // Step 2: the MAG learns it and sends on the newest at once; the LMA follows on the first message.
        mag.Reconfigure(mag.Options with { Peers = [new SecurityPeerOptions(LmaAt, [A, B])] });
        Exchange(0x1002, 0x2002);
        // Step 3: the old pair goes from both ends.
        lma.Reconfigure(lma.Options with { Peers = [new SecurityPeerOptions(MagAt, [Mirror(B)])] });
        mag.Reconfigure(mag.Options with { Peers = [new SecurityPeerOptions(LmaAt, [B])] });
        Exchange(0x1002, 0x2002);
        Assert.Equal(0, lma.Counters.Drops.Total + mag.Counters.Drops.Total);
    }

    [Fact]
    public void A_reload_keeps_the_state_of_an_unchanged_sa()
    {
        using var mag = MagSide(A);
        using var lma = LmaSide(A);
        var esp = Protect(mag, LmaAt, Pbu());
        Assert.True(Open(lma, MagAt, LmaAt, esp).Verdict.Accepted);
        lma.Reconfigure(lma.Options with { Peers = [new SecurityPeerOptions(MagAt, [Mirror(A), Mirror(B)])] });
        Assert.Equal(SecurityDropReason.Replay, Open(lma, MagAt, LmaAt, esp).Verdict.Reason);
        Protect(mag, LmaAt, Pbu());
        mag.Reconfigure(mag.Options with { Peers = [new SecurityPeerOptions(LmaAt, [A])] });
        Assert.Equal(3u, EspPacket.ReadSequenceNumber(Protect(mag, LmaAt, Pbu())));
    }

    [Fact]
    public void Options_refuse_reserved_spis_duplicates_and_wrong_key_lengths()
    {
        Assert.Throws<ProtocolOptionsException>(() => MagSide(A with { InboundSpi = 255 }));
        Assert.Throws<ProtocolOptionsException>(() => MagSide(A, B with { InboundSpi = A.InboundSpi }));
        Assert.Throws<ProtocolOptionsException>(() => MagSide(A with { OutboundKey = Key(1, 16) }));
    }

    [Fact]
    public void Protecting_and_opening_allocate_nothing()
    {
        using var mag = MagSide(A);
        using var lma = LmaSide(A);
        var pbu = Pbu();
        var output = new byte[pbu.Length + SignallingSecurity.MaxOverhead];
        Assert.Equal(0, Allocations.BestWindow(RoundTrip, rounds: 1000, warmUp: 10));

        void RoundTrip()
        {
            Assert.True(mag.TryProtect(LmaAt, pbu, output, Now, out int length));
            Assert.True(lma.Unprotect(MagAt, LmaAt, output.AsSpan(0, length), Now, out _).Accepted);
        }
    }
}
