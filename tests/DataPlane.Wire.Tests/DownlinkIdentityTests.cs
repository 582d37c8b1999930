using System.Buffers.Binary;

namespace DataPlane.Wire.Tests;

/// <summary>
/// The identity two MAGs compute over their copies of one downlink packet, to find where the source stopped
/// delivering: equal for copies whatever the path changed, different for different packets, the same from the
/// source's 128-byte snapshot as from the whole packet, and for TCP robust to segments merged differently (GRO).
/// </summary>
public class DownlinkIdentityTests
{
    private static readonly Ipv6Address Client = Ipv6Address.Parse("2001:db8:2::10");
    private static readonly Ipv6Address Vm = Ipv6Address.Parse("2001:db8:1001:1::1");

    private static byte[] Ipv6(IpProtocol protocol, byte[] transport, byte hopLimit = 63)
    {
        var p = new byte[40 + transport.Length];
        Ipv6Packet.WriteHeader(p, Client, Vm, protocol, transport.Length, hopLimit);
        transport.CopyTo(p, 40);
        return p;
    }

    private static byte[] Tcp(uint seq, int payload, uint ack = 1, byte flags = 0x10, ushort window = 512)
    {
        var t = new byte[20 + payload];
        BinaryPrimitives.WriteUInt16BigEndian(t, 7001);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(2), 40000);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(4), seq);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(8), ack);
        t[12] = 5 << 4;
        t[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(14), window);
        for (int i = 0; i < payload; i++) t[20 + i] = (byte)(seq + i);
        return t;
    }

    private static byte[] Udp(int sequence, int length = 52)
    {
        var u = new byte[8 + length];
        BinaryPrimitives.WriteUInt16BigEndian(u, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(2), 7000);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(4), (ushort)u.Length);
        BinaryPrimitives.WriteInt32BigEndian(u.AsSpan(24), sequence);
        return u;
    }

    [Fact]
    public void Copies_of_a_packet_agree_whatever_the_hop_limit_and_different_packets_differ()
    {
        var a = DownlinkIdentity.Of(Ipv6(IpProtocol.Udp, Udp(1), hopLimit: 63));
        Assert.Equal(a, DownlinkIdentity.Of(Ipv6(IpProtocol.Udp, Udp(1), hopLimit: 12)));
        Assert.Equal(DownlinkIdentityKind.Other, a.Kind);
        Assert.NotEqual(a.Hash, DownlinkIdentity.Of(Ipv6(IpProtocol.Udp, Udp(2))).Hash);
        Assert.NotEqual(a.Hash, DownlinkIdentity.Of(Ipv6(IpProtocol.Udp, Udp(1, length: 60))).Hash);
    }

    [Fact]
    public void A_128_byte_snapshot_gives_the_identity_of_the_whole_packet()
    {
        foreach (var packet in new[] { Ipv6(IpProtocol.Udp, Udp(5, length: 1200)), Ipv6(IpProtocol.Tcp, Tcp(1000, 1400)), Ipv6(IpProtocol.Tcp, Tcp(1000, 0)) })
            Assert.Equal(DownlinkIdentity.Of(packet), DownlinkIdentity.Of(packet.AsSpan(0, Math.Min(packet.Length, DownlinkIdentity.SnapshotBytes))));
    }

    [Fact]
    public void Ipv4_copies_agree_whatever_the_ttl_and_header_checksum()
    {
        var p = new byte[20 + 60];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), 0x1234);
        p[8] = 64;
        p[9] = (byte)IpProtocol.Udp;
        Ipv4Address.Parse("192.0.2.10").WriteTo(p.AsSpan(12));
        Ipv4Address.Parse("198.51.100.7").WriteTo(p.AsSpan(16));
        Udp(9).AsSpan(0, 60).CopyTo(p.AsSpan(20));
        var a = DownlinkIdentity.Of(p);
        var q = (byte[])p.Clone();
        q[8] = 3;
        q[10] = 0xbe;
        Assert.Equal(a, DownlinkIdentity.Of(q));
        q[25] ^= 1;
        Assert.NotEqual(a.Hash, DownlinkIdentity.Of(q).Hash);
    }

    [Fact]
    public void A_udp_copy_with_a_partial_checksum_and_one_with_it_completed_agree()
    {
        // The LMA leaves a UDP checksum partial where the path completes it: the source MAG delivers it so to a vnet
        // port, the destination completes it before holding it. Found by the end-to-end paused-migration test (3
        // probes delivered twice after the rebase onto issue 14).
        var partial = Ipv6(IpProtocol.Udp, Udp(7));
        var complete = (byte[])partial.Clone();
        complete[40 + 6] ^= 0x5a;
        complete[40 + 7] ^= 0xa5;
        Assert.Equal(DownlinkIdentity.Of(partial), DownlinkIdentity.Of(complete));
        Assert.Equal(DownlinkIdentity.Of(partial), DownlinkIdentity.Of(complete.AsSpan(0, Math.Min(complete.Length, DownlinkIdentity.SnapshotBytes))));
        complete[40 + 8] ^= 1; // the payload still counts
        Assert.NotEqual(DownlinkIdentity.Of(partial).Hash, DownlinkIdentity.Of(complete).Hash);
    }

    /// <summary>The probe's UDP datagram (dataplane-probe udp-client): 52 bytes, its 64-bit sequence number at payload bytes 20..27.</summary>
    private static byte[] ProbeDatagram(ulong sequence)
    {
        var u = new byte[8 + 52];
        BinaryPrimitives.WriteUInt16BigEndian(u, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(2), 7000);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(4), (ushort)u.Length);
        "DATAPLANE-PROBE"u8.CopyTo(u.AsSpan(8));
        u[8 + 15] = 1;                                                   // kind: probe
        BinaryPrimitives.WriteUInt32BigEndian(u.AsSpan(8 + 16), 0xC0FFEE); // run ID
        BinaryPrimitives.WriteUInt64BigEndian(u.AsSpan(8 + 20), sequence);
        BinaryPrimitives.WriteInt64BigEndian(u.AsSpan(8 + 28), 123_456_789L * (long)sequence);
        return u;
    }

    [Fact]
    public void Udp_datagrams_of_one_flow_that_differ_only_past_their_first_24_payload_bytes_are_told_apart()
    {
        // Found by the end-to-end paused migration (probes 13-16 lost): the identity hashed only the first 32 bytes of a
        // UDP datagram, which for the probe ends inside the high half of its big-endian sequence number, so every probe of
        // a run had one identity and the destination trimmed up to the newest probe it held, not the one the source
        // delivered last. Content now counts as far as the source's 128-byte snapshot reaches.
        var identities = Enumerable.Range(1, 300).Select(i => DownlinkIdentity.Of(Ipv6(IpProtocol.Udp, ProbeDatagram((ulong)i)))).ToArray();
        Assert.Equal(identities.Length, identities.Select(i => i.Hash).Distinct().Count());
        // IPv4 (the ID changes too, but a sender may keep it 0 with DF set: RFC 6864).
        static byte[] Udp4(ulong sequence)
        {
            var d = ProbeDatagram(sequence);
            var p = new byte[20 + d.Length];
            p[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
            p[6] = 0x40;
            p[8] = 64;
            p[9] = (byte)IpProtocol.Udp;
            Ipv4Address.Parse("192.0.2.10").WriteTo(p.AsSpan(12));
            Ipv4Address.Parse("198.51.100.7").WriteTo(p.AsSpan(16));
            d.CopyTo(p.AsSpan(20));
            return p;
        }
        Assert.NotEqual(DownlinkIdentity.Of(Udp4(13)).Hash, DownlinkIdentity.Of(Udp4(16)).Hash);
        // The source's snapshot still gives the identity of the whole datagram, with its checksum partial or complete,
        // also when the datagram is longer than the snapshot.
        foreach (var packet in new[] { Ipv6(IpProtocol.Udp, ProbeDatagram(14)), Ipv6(IpProtocol.Udp, Udp(5, length: 1200)), Udp4(15) })
        {
            var completed = (byte[])packet.Clone();
            int udp = packet[0] >> 4 == 6 ? 40 : 20;
            completed[udp + 6] ^= 0x3c;
            Assert.Equal(DownlinkIdentity.Of(packet), DownlinkIdentity.Of(completed.AsSpan(0, Math.Min(completed.Length, DownlinkIdentity.SnapshotBytes))));
        }
        // Bytes beyond the snapshot do not count (the source never saw them).
        var longer = Ipv6(IpProtocol.Udp, Udp(5, length: 1200));
        var changedLate = (byte[])longer.Clone();
        changedLate[DownlinkIdentity.SnapshotBytes + 10] ^= 0xff;
        Assert.Equal(DownlinkIdentity.Of(longer), DownlinkIdentity.Of(changedLate));
        changedLate[DownlinkIdentity.SnapshotBytes - 1] ^= 0xff;
        Assert.NotEqual(DownlinkIdentity.Of(longer).Hash, DownlinkIdentity.Of(changedLate).Hash);
    }

    [Fact]
    public void Ipv4_tcp_data_is_told_apart_by_its_sequence_range_not_its_identification_nor_ecn()
    {
        // A TCPv4 super-frame one MAG holds whole (the first segment's ID) and its last segment the other MAG holds cut
        // (ID + 1, as TSO and TcpSegmenter number them), with a CE mark the other path did not get.
        static byte[] Tcp4(ushort id, byte tos, uint sequence, int payload)
        {
            var p = new byte[20 + 20 + payload];
            p[0] = 0x45;
            p[1] = tos;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
            p[6] = 0x40; // DF
            p[8] = 64;
            p[9] = (byte)IpProtocol.Tcp;
            Ipv4Address.Parse("192.0.2.10").WriteTo(p.AsSpan(12));
            Ipv4Address.Parse("198.51.100.7").WriteTo(p.AsSpan(16));
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(20), 443);
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(22), 50000);
            BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(24), sequence);
            p[32] = 0x50;
            p[33] = 0x10; // ACK
            return p;
        }
        var whole = DownlinkIdentity.Of(Tcp4(0x100, 0x02, 1000, 2800));
        var lastSegment = DownlinkIdentity.Of(Tcp4(0x101, 0x03, 2400, 1400));
        Assert.Equal((DownlinkIdentityKind.TcpData, 1000u, 3800u), (whole.Kind, whole.SequenceStart, whole.SequenceEnd));
        Assert.True(whole.Holds(lastSegment));
        Assert.False(whole.ExtendsBeyond(lastSegment));
        Assert.True(lastSegment.Holds(whole));
        // Pure ACKs keep the identification: two otherwise equal ones stay apart.
        Assert.NotEqual(DownlinkIdentity.Of(Tcp4(1, 0, 5, 0)).Hash, DownlinkIdentity.Of(Tcp4(2, 0, 5, 0)).Hash);
        Assert.Equal(DownlinkIdentity.Of(Tcp4(1, 0, 5, 0)), DownlinkIdentity.Of(Tcp4(1, 3, 5, 0)));
    }

    [Fact]
    public void A_tcp_unit_holds_every_segment_merged_into_it_and_says_whether_it_goes_beyond_the_marker()
    {
        var first = DownlinkIdentity.Of(Ipv6(IpProtocol.Tcp, Tcp(1000, 1400)));
        var second = DownlinkIdentity.Of(Ipv6(IpProtocol.Tcp, Tcp(2400, 1400)));
        // The two merged by a receiver's GRO into one unit of 2800 bytes from the same sequence number.
        var merged = DownlinkIdentity.Of(Ipv6(IpProtocol.Tcp, Tcp(1000, 2800)));
        Assert.Equal((DownlinkIdentityKind.TcpData, 1000u, 2400u), (first.Kind, first.SequenceStart, first.SequenceEnd));
        Assert.True(merged.Holds(first));
        Assert.True(merged.Holds(second));
        Assert.True(merged.ExtendsBeyond(first));
        Assert.False(merged.ExtendsBeyond(second));
        Assert.True(first.Holds(first));
        Assert.False(first.Holds(second));
        Assert.False(second.Holds(first));
        // Another flow never matches.
        var other = Ipv6(IpProtocol.Tcp, Tcp(1000, 1400));
        BinaryPrimitives.WriteUInt16BigEndian(other.AsSpan(40), 7002);
        Assert.False(DownlinkIdentity.Of(other).Holds(first));
    }

    [Fact]
    public void Pure_acks_are_told_apart_by_their_acknowledgement_and_wrap_around_is_handled()
    {
        var ack1 = DownlinkIdentity.Of(Ipv6(IpProtocol.Tcp, Tcp(500, 0, ack: 10)));
        var ack2 = DownlinkIdentity.Of(Ipv6(IpProtocol.Tcp, Tcp(500, 0, ack: 20)));
        Assert.Equal(DownlinkIdentityKind.TcpEmpty, ack1.Kind);
        Assert.True(ack1.Holds(ack1));
        Assert.False(ack1.Holds(ack2));
        var nearWrap = DownlinkIdentity.Of(Ipv6(IpProtocol.Tcp, Tcp(uint.MaxValue - 100, 1400)));
        var afterWrap = DownlinkIdentity.Of(Ipv6(IpProtocol.Tcp, Tcp(unchecked(uint.MaxValue - 100 + 1400), 1400)));
        Assert.True(DownlinkIdentity.Of(Ipv6(IpProtocol.Tcp, Tcp(uint.MaxValue - 100, 2800))).Holds(afterWrap));
        Assert.False(nearWrap.Holds(afterWrap));
        // SYN and FIN take a sequence number.
        Assert.Equal(1u, DownlinkIdentity.Of(Ipv6(IpProtocol.Tcp, Tcp(7, 0, flags: 0x02))).SequenceEnd - 7);
    }

    [Fact]
    public void Malformed_input_still_gets_an_identity_and_never_throws()
    {
        var random = new Random(3);
        for (int n = 0; n < 3000; n++)
        {
            var b = new byte[random.Next(0, 200)];
            random.NextBytes(b);
            if (b.Length > 0 && random.Next(2) == 0) b[0] = (byte)((random.Next(2) == 0 ? 6 : 4) << 4 | (b[0] & 0x0f));
            DownlinkIdentity.Of(b);
        }
    }
}
