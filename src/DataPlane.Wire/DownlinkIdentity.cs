using System.Buffers.Binary;
using System.Numerics;

namespace DataPlane.Wire;

/// <summary>How a downlink packet is identified (<see cref="DownlinkIdentity"/>).</summary>
public enum DownlinkIdentityKind : byte
{
    /// <summary>Not TCP: identified by its addresses, its length and every byte of it within the first <see cref="DownlinkIdentity.SnapshotBytes"/>.</summary>
    Other,
    /// <summary>A TCP segment without payload, SYN or FIN (an ACK): identified by its flow, sequence, ack, flags and window.</summary>
    TcpEmpty,
    /// <summary>A TCP segment that takes sequence space: identified by its flow and its sequence range.</summary>
    TcpData,
}

/// <summary>
/// An identity for one downlink packet (an IP packet the LMA tunnelled to a MAG) that two MAGs computing it over
/// their own copy of the same packet agree on, so that the destination of a live migration can find in its buffer
/// the packet the source delivered last (<see cref="DeliveryMarker"/>). The hash covers what the path does not
/// change (not the hop limit or TTL, not the IPv4 header checksum). For TCP data it covers only the flow and the
/// sequence range is kept beside it, because a receiver may have merged consecutive segments (GRO) differently
/// from the other MAG: a marker then falls inside a merged unit rather than equal to one. Computed only when a
/// migration needs it (at the source's stop, and over the destination's buffer), never per forwarded packet.
/// </summary>
public readonly record struct DownlinkIdentity(DownlinkIdentityKind Kind, ulong Hash, uint SequenceStart, uint SequenceEnd)
{
    /// <summary>
    /// The identity of the IPv6 or IPv4 packet at the start of <paramref name="packet"/>. Lengths come from the IP
    /// header, so the first <see cref="SnapshotBytes"/> bytes of a packet give the same identity as the whole packet
    /// (what the source keeps of the last packet it delivered). Anything it cannot parse (truncated, unknown version)
    /// gets an identity over the bytes there are, so a malformed packet still has one.
    /// </summary>
    public static DownlinkIdentity Of(ReadOnlySpan<byte> packet)
    {
        var h = new Mixer();
        if (packet.Length >= Ipv6Packet.HeaderLength && packet[0] >> 4 == 6)
        {
            int payload = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
            // A payload length of 0 is a jumbogram (or a GRO super-frame over 64 KiB): then the bytes there are.
            int total = payload == 0 ? packet.Length : Ipv6Packet.HeaderLength + payload;
            // Version, traffic class without its ECN bits (a tunnel exit copies the outer CE mark in, and each copy took
            // its own path), flow label.
            h.Add(BinaryPrimitives.ReadUInt32BigEndian(packet) & ~0x0030_0000u);
            h.Add(packet[6]);                                    // next header (the hop limit at 7 changes on the way)
            h.Add(packet.Slice(8, 32));                          // source and destination
            return Transport(ref h, packet, Ipv6Packet.HeaderLength, total, (IpProtocol)packet[6]);
        }
        if (packet.Length >= 20 && packet[0] >> 4 == 4)
        {
            int ihl = (packet[0] & 0x0f) * 4;
            int total = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
            if (ihl < 20 || total < ihl || packet.Length < ihl) return Bytes(ref h, packet, packet.Length, SnapshotBytes);
            h.Add(BinaryPrimitives.ReadUInt16BigEndian(packet) & ~0x0003u); // version, IHL, TOS without its ECN bits
            h.Add(packet[9]);                                        // protocol (TTL at 8 and the checksum change on the way)
            h.Add(packet.Slice(12, 8));                              // source and destination
            bool fragment = (BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x1fff) != 0;
            // The identification takes part except in TCP data: a TCP super-frame cut into segments gives each the next
            // ID (Linux's TSO, TcpSegmenter), and a receiver's GRO keeps the first segment's, so the copy one MAG holds
            // whole and the other holds cut must agree on the flow and be told apart by their sequence ranges only.
            uint identification = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]); // identification, flags, fragment offset
            if (fragment || (IpProtocol)packet[9] != IpProtocol.Tcp)
            {
                h.Add(identification);
                return fragment ? Bytes(ref h, packet[ihl..], total - ihl, SnapshotBytes - ihl) : Transport(ref h, packet, ihl, total, (IpProtocol)packet[9]);
            }
            var identity = Transport(ref h, packet, ihl, total, (IpProtocol)packet[9]);
            if (identity.Kind == DownlinkIdentityKind.TcpData) return identity;
            // A pure ACK or a TCP packet too short to parse: the ID tells apart two that are otherwise the same.
            h.Add(identification);
            return identity with { Hash = h.Value };
        }
        return Bytes(ref h, packet, packet.Length, SnapshotBytes);
    }

    /// <summary>
    /// How many leading bytes of a packet <see cref="Of"/> reads at most: the longest IPv4 header and TCP header, and
    /// for anything but TCP every byte there (what tells two packets of one flow apart may lie well into the payload:
    /// the probe's 64-bit sequence number ends at byte 28 of its UDP payload).
    /// </summary>
    public const int SnapshotBytes = 128;

    /// <param name="total">The packet's length as its IP header declares it (the span may hold only its start).</param>
    private static DownlinkIdentity Transport(ref Mixer h, ReadOnlySpan<byte> packet, int offset, int total, IpProtocol protocol)
    {
        var t = packet[offset..];
        int length = total - offset;
        // Content is hashed as far as the source's snapshot reaches (SnapshotBytes from the IP header), so the snapshot
        // and the whole packet agree and two packets of one flow that differ anywhere there are told apart.
        int content = SnapshotBytes - offset;
        if (protocol == IpProtocol.Udp && length >= 8 && t.Length >= 8)
        {
            // Without the checksum: one MAG may hold the copy with the partial checksum the LMA left for the path to
            // complete (NEEDS_CSUM, delivered so to a vnet port) and the other with it completed (a held packet is).
            Span<byte> head = stackalloc byte[SnapshotBytes];
            int n = Math.Min(Math.Min(t.Length, length), content);
            t[..n].CopyTo(head);
            head[6] = head[7] = 0;
            return Bytes(ref h, head[..n], length, content);
        }
        if (protocol != IpProtocol.Tcp || length < 20 || t.Length < 20 || t[12] >> 4 < 5 || (t[12] >> 4) * 4 > Math.Min(length, t.Length))
            return Bytes(ref h, t, length, content);
        int headerLength = (t[12] >> 4) * 4;
        byte flags = t[13];
        uint sequence = BinaryPrimitives.ReadUInt32BigEndian(t[4..]);
        int payload = length - headerLength;
        uint consumed = (uint)payload + ((flags & 0x02) != 0 ? 1u : 0u) + ((flags & 0x01) != 0 ? 1u : 0u); // SYN, FIN
        h.Add(BinaryPrimitives.ReadUInt32BigEndian(t)); // ports
        if (consumed > 0) return new DownlinkIdentity(DownlinkIdentityKind.TcpData, h.Value, sequence, sequence + consumed);
        h.Add(sequence);
        h.Add(BinaryPrimitives.ReadUInt32BigEndian(t[8..]));  // acknowledgement
        h.Add(BinaryPrimitives.ReadUInt32BigEndian(t[12..])); // offset, flags, window
        return new DownlinkIdentity(DownlinkIdentityKind.TcpEmpty, h.Value, sequence, sequence);
    }

    /// <param name="length">The payload's declared length (the span may hold only its start).</param>
    /// <param name="content">How many of its bytes lie within the first <see cref="SnapshotBytes"/> of the packet: those are hashed.</param>
    private static DownlinkIdentity Bytes(ref Mixer h, ReadOnlySpan<byte> payload, int length, int content)
    {
        h.Add((uint)Math.Max(0, length));
        h.Add(payload[..Math.Min(Math.Min(payload.Length, Math.Max(0, length)), Math.Max(0, content))]);
        return new DownlinkIdentity(DownlinkIdentityKind.Other, h.Value, 0, 0);
    }

    /// <summary>
    /// Is this unit (a buffered packet, perhaps several merged TCP segments) the one that holds the marker's packet?
    /// For TCP data: the same flow, and the marker's sequence end lies within (start, end] of this unit.
    /// </summary>
    public bool Holds(in DownlinkIdentity marker) => Kind == marker.Kind && Hash == marker.Hash && (Kind != DownlinkIdentityKind.TcpData
        || ((int)(SequenceStart - marker.SequenceEnd) < 0 && (int)(marker.SequenceEnd - SequenceEnd) <= 0));

    /// <summary>A TCP data unit holding <paramref name="marker"/> that also carries bytes after it (a differently merged unit).</summary>
    public bool ExtendsBeyond(in DownlinkIdentity marker) => Kind == DownlinkIdentityKind.TcpData && (int)(SequenceEnd - marker.SequenceEnd) > 0;

    /// <summary>A 64-bit mix of words and bytes (multiply-rotate, as in xxHash's rounds; not cryptographic).</summary>
    private struct Mixer()
    {
        private const ulong Prime1 = 0x9E3779B185EBCA87UL;
        private const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;
        private ulong _h = 0x27D4EB2F165667C5UL;

        public readonly ulong Value
        {
            get
            {
                ulong h = _h;
                h ^= h >> 33;
                h *= Prime2;
                h ^= h >> 29;
                return h;
            }
        }

        public void Add(ulong v) => _h = BitOperations.RotateLeft(_h ^ (v * Prime2), 31) * Prime1;

        public void Add(ReadOnlySpan<byte> bytes)
        {
            while (bytes.Length >= 8)
            {
                Add(BinaryPrimitives.ReadUInt64BigEndian(bytes));
                bytes = bytes[8..];
            }
            ulong tail = (ulong)bytes.Length << 56;
            for (int i = 0; i < bytes.Length; i++) tail |= (ulong)bytes[i] << (8 * i);
            Add(tail);
        }
    }
}
