using System.Buffers.Binary;
using DataPlane.Wire;

namespace DataPlane.Linux.Tests;

public sealed class RawIpv6SocketTests
{
    private static readonly Ipv6Address A = NamespacePair.AddressA;
    private static readonly Ipv6Address B = NamespacePair.AddressB;
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    private static RawIpv6Socket Open(TestNamespace ns, IpProtocol protocol, Ipv6Address local, int hopLimit = 64) =>
        ns.Run(() => RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = protocol, LocalAddress = local, HopLimit = hopLimit }));

    private static BindingUpdate Pbu(ushort sequence) => new(sequence, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 100)
    {
        Options = new MobilityOptionList(
        [
            MobileNodeIdentifierOption.ForNai("vm1@example.org"),
            new HomeNetworkPrefixOption(Ipv6Prefix.Parse("2001:db8:100::/64")),
            new HandoffIndicatorOption(HandoffIndicator.AttachmentOverNewInterface),
            new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
        ]),
    };

    /// <summary>Write the PBU into the next slot with its checksum field zeroed (or set to <paramref name="checksum"/>).</summary>
    private static int AddPbu(PacketBatch batch, BindingUpdate pbu, Ipv6Address to, ushort? checksum = 0)
    {
        int slot = batch.Count++;
        batch.Reset(slot);
        int length = pbu.WriteTo(batch.FrameSpace(slot), A, to);
        batch.SetLength(slot, length);
        if (checksum is ushort c) BinaryPrimitives.WriteUInt16BigEndian(batch.Frame(slot)[MobilityHeader.ChecksumOffset..], c);
        batch.Meta(slot).Destination = to;
        return slot;
    }

    [Fact]
    public void A_Mobility_Header_arrives_with_its_addresses_and_the_checksum_the_kernel_filled_in()
    {
        using var pair = new NamespacePair();
        using var mag = Open(pair.A, IpProtocol.Mobility, A);
        using var lma = Open(pair.B, IpProtocol.Mobility, B);
        using var wire = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB));
        using var tx = new PacketBatch(4);
        using var rx = new PacketBatch(8);
        Assert.Equal(4, mag.ChecksumOffset); // raw.c: IPPROTO_MH sockets checksum at offset 4 by default

        var pbu = Pbu(17);
        AddPbu(tx, pbu, B, checksum: 0);      // zero: the kernel must fill it …
        AddPbu(tx, Pbu(18), B, checksum: 0xBEEF); // … and garbage is replaced, not summed in
        Assert.Equal(2, mag.Send(tx, 0, 2));

        var both = Frames.Collect(lma, rx, _ => true, 2);
        Assert.Equal(2, both.Count);
        Assert.True(MobilityHeader.TryCreate(both[1].Bytes, out var second, out _) && second.IsChecksumValid(A, B));
        var got = both[0];
        Assert.Equal(A, got.Meta.Source);
        Assert.Equal(B, got.Meta.Destination);
        Assert.Equal(pair.B.IpJson("link", "show", NamespacePair.VethB)[0].GetProperty("ifindex").GetInt32(), got.Meta.IfIndex);
        var bytes = got.Bytes;
        Assert.True(MobilityHeader.TryCreate(bytes, out var mh, out _));
        Assert.NotEqual(0, mh.Checksum);
        Assert.True(mh.IsChecksumValid(A, B));
        Assert.True(MobilityMessage.TryParse(bytes, out var message, out var error), error.ToString());
        Assert.Equal(pbu, message);

        // On the wire too: outer header next header 135, hop limit 64, valid checksum.
        var frame = Frames.Collect(wire, rx, r => r.Bytes.Length > 54 && r.Bytes[14 + 6] == 135, 2)[0].Bytes;
        Assert.Equal(64, frame[14 + 7]);
        Assert.Equal(bytes, frame.AsSpan(54).ToArray());
    }

    [Fact]
    public void The_kernel_drops_a_received_Mobility_Header_with_a_bad_checksum()
    {
        using var pair = new NamespacePair();
        using var mag = Open(pair.A, IpProtocol.Mobility, A);
        using var lma = Open(pair.B, IpProtocol.Mobility, B);
        using var wire = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB));
        using var tx = new PacketBatch(4);
        using var rx = new PacketBatch(8);
        mag.SetChecksumOffset(-1); // allowed for MH (not for ICMPv6): we send what we wrote
        Assert.Equal(-1, mag.ChecksumOffset);

        int slot = AddPbu(tx, Pbu(1), B, checksum: null); // Wire computed a correct checksum
        var field = tx.Frame(slot)[MobilityHeader.ChecksumOffset..];
        BinaryPrimitives.WriteUInt16BigEndian(field, (ushort)(BinaryPrimitives.ReadUInt16BigEndian(field) ^ 0x0101));
        Assert.Equal(1, mag.Send(tx, 0, 1));
        // It reached B's interface …
        Assert.Single(Frames.Collect(wire, rx, r => r.Bytes.Length > 54 && r.Bytes[14 + 6] == 135, 1));
        // … but not B's MH socket.
        Assert.Empty(Frames.Collect(lma, rx, _ => true, 1, Quiet));

        tx.Clear();
        AddPbu(tx, Pbu(2), B, checksum: null);
        Assert.Equal(1, mag.Send(tx, 0, 1));
        var ok = Assert.Single(Frames.Collect(lma, rx, _ => true, 1));
        Assert.True(MobilityMessage.TryParse(ok.Bytes, out var m, out _));
        Assert.Equal((ushort)2, ((BindingUpdate)m!).Sequence);
    }

    [Fact]
    public void A_protocol_41_socket_receives_the_inner_packet_without_the_outer_header()
    {
        using var pair = new NamespacePair();
        using var mag = Open(pair.A, IpProtocol.Ipv6, A, hopLimit: 37);
        using var lma = Open(pair.B, IpProtocol.Ipv6, B);
        using var wire = pair.A.Run(() => PacketSocket.Open(NamespacePair.VethA));
        using var wireB = pair.B.Run(() => PacketSocket.Open(NamespacePair.VethB));
        using var tx = new PacketBatch(4);
        using var rx = new PacketBatch(8);

        var inner = Frames.EchoRequestPacket(Ipv6Address.Parse("2001:db8:100::5"), Ipv6Address.Parse("2001:db8:cafe::1"), 1, 1);
        tx.Add(inner);
        tx.Meta(0).Destination = B;
        Assert.Equal(1, mag.Send(tx, 0, 1));

        var got = Assert.Single(Frames.Collect(lma, rx, _ => true, 1));
        Assert.Equal(inner, got.Bytes);
        Assert.Equal(A, got.Meta.Source);
        Assert.Equal(B, got.Meta.Destination);

        // On the wire: one outer header, next header 41, the configured hop limit, then the inner packet.
        var frame = Assert.Single(Frames.Collect(wireB, rx, r => r.Bytes.Length > 54 && r.Bytes[14 + 6] == 41, 1)).Bytes;
        Assert.Equal(37, frame[14 + 7]);
        Assert.Equal(inner, frame.AsSpan(54).ToArray());
        // While our socket is open the kernel stays silent: no ICMPv6 Parameter Problem back to A.
        Assert.Empty(Frames.Collect(wire, rx, r => Frames.IsIcmpv6(r.Bytes.AsSpan(14), 4), 1, Quiet));
    }

    [Fact]
    public void Without_a_protocol_41_socket_the_kernel_answers_with_Parameter_Problem()
    {
        // This kernel has no ip6_tunnel: nothing handles next header 41 but a raw socket.
        using var pair = new NamespacePair();
        using var mag = Open(pair.A, IpProtocol.Ipv6, A);
        using var wire = pair.A.Run(() => PacketSocket.Open(NamespacePair.VethA));
        using var tx = new PacketBatch(1);
        using var rx = new PacketBatch(8);
        tx.Add(Frames.EchoRequestPacket(Ipv6Address.Parse("2001:db8:100::5"), Ipv6Address.Parse("2001:db8:cafe::1"), 1, 1));
        tx.Meta(0).Destination = B;
        Assert.Equal(1, mag.Send(tx, 0, 1));

        var icmp = Assert.Single(Frames.Collect(wire, rx, r => Frames.IsIcmpv6(r.Bytes.AsSpan(14), 4, B), 1)).Bytes.AsSpan(14);
        Assert.Equal(1, icmp[41]);                                          // code 1: unrecognized Next Header
        Assert.Equal(6u, BinaryPrimitives.ReadUInt32BigEndian(icmp[44..])); // pointer: the Next Header field
    }

    [Fact]
    public void A_batch_goes_to_per_slot_destinations_and_PKTINFO_tells_them_apart()
    {
        using var pair = new NamespacePair();
        var b2 = Ipv6Address.Parse("2001:db8:a::3");
        pair.B.AddAddress(NamespacePair.VethB, b2, 64);
        using var mag = Open(pair.A, IpProtocol.Mobility, A);
        using var lma = Open(pair.B, IpProtocol.Mobility, Ipv6Address.Unspecified); // every local address
        using var tx = new PacketBatch(16);
        using var rx = new PacketBatch(16);
        for (int i = 0; i < 16; i++) AddPbu(tx, Pbu((ushort)i), i % 2 == 0 ? B : b2);
        Assert.Equal(16, mag.Send(tx, 0, 16));

        var got = Frames.Collect(lma, rx, _ => true, 16);
        Assert.Equal(16, got.Count);
        for (int i = 0; i < 16; i++)
        {
            Assert.True(MobilityMessage.TryParse(got[i].Bytes, out var m, out _));
            Assert.Equal((ushort)i, ((BindingUpdate)m!).Sequence);
            Assert.Equal(i % 2 == 0 ? B : b2, got[i].Meta.Destination);
            Assert.True(MobilityHeader.TryCreate(got[i].Bytes, out var mh, out _) && mh.IsChecksumValid(A, got[i].Meta.Destination));
        }
    }

    [Fact]
    public void An_unreachable_destination_drops_that_packet_only()
    {
        using var pair = new NamespacePair();
        using var mag = Open(pair.A, IpProtocol.Mobility, A);
        using var lma = Open(pair.B, IpProtocol.Mobility, B);
        using var tx = new PacketBatch(3);
        using var rx = new PacketBatch(8);
        AddPbu(tx, Pbu(1), B);
        AddPbu(tx, Pbu(2), Ipv6Address.Parse("2001:db8:dead::1")); // no route in A
        AddPbu(tx, Pbu(3), B);
        Assert.Equal(3, mag.Send(tx, 0, 3));
        Assert.Equal(1, mag.Counters.TxErrors);
        Assert.Equal(Errno.ENETUNREACH, mag.Counters.LastError);
        var got = Frames.Collect(lma, rx, _ => true, 2);
        Assert.Equal(2, got.Count);
    }

    [Fact]
    public void Binding_to_an_address_the_host_does_not_have_names_the_address()
    {
        using var ns = TestNamespace.Create();
        var e = Assert.Throws<LinuxIoException>(() => Open(ns, IpProtocol.Mobility, Ipv6Address.Parse("2001:db8:ffff::1")));
        Assert.Equal("bind raw IPv6 socket 135 to 2001:db8:ffff::1: EADDRNOTAVAIL", e.Message);
    }

    [Fact]
    public void With_free_bind_a_socket_binds_an_address_not_configured_yet_and_receives_once_it_is()
    {
        // An LMA standby opens its sockets at start; the address arrives with the takeover.
        var later = Ipv6Address.Parse("2001:db8:a::3");
        using var pair = new NamespacePair();
        using var mag = Open(pair.A, IpProtocol.Mobility, A);
        using var standby = pair.B.Run(() => RawIpv6Socket.Open(new RawIpv6SocketOptions { Protocol = IpProtocol.Mobility, LocalAddress = later, FreeBind = true }));
        using var tx = new PacketBatch(4);
        using var rx = new PacketBatch(8);
        pair.B.AddAddress(NamespacePair.VethB, later, 128);
        AddPbu(tx, Pbu(21), later);
        Assert.Equal(1, mag.Send(tx, 0, 1));
        var got = Frames.Collect(standby, rx, _ => true, 1);
        Assert.Equal((A, later), (Assert.Single(got).Meta.Source, got[0].Meta.Destination));
    }
}
