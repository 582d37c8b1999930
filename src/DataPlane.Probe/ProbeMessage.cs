using System.Buffers.Binary;

namespace DataPlane.Probe;

/// <summary>What a probe message is.</summary>
public enum ProbeKind : byte
{
    /// <summary>UDP probe from the client.</summary>
    Probe = 1,
    /// <summary>UDP acknowledgement from the responder: the probe with its sequence number plus one.</summary>
    Ack = 2,
    /// <summary>A TCP survivability message.</summary>
    TcpData = 3,
    /// <summary>The TCP client's orderly end marker.</summary>
    TcpEnd = 4,
}

/// <summary>
/// The UDP probe and its acknowledgement (big-endian), as the seed's tool: a fixed well-known string
/// (so captures can pick the stream out: <c>tshark -Y 'frame contains "DATAPLANE-PROBE"'</c>), a sequence
/// number and the client's timestamps. The responder reflects the packet with kind = Ack, the sequence
/// number incremented and its own receive time added; everything else is echoed.
/// <code>
///  0 magic "DATAPLANE-PROBE" (15)   15 kind (1)   16 run id (4)   20 sequence (8)
/// 28 client monotonic ns (8)        36 client unix ns (8)          44 responder monotonic ns (8, ack only)
/// 52 padding to the requested size
/// </code>
/// </summary>
public static class UdpProbeMessage
{
    public const string MagicText = "DATAPLANE-PROBE";
    public const int MagicLength = 15;
    public const int KindOffset = 15;
    public const int RunIdOffset = 16;
    public const int SequenceOffset = 20;
    public const int ClientMonotonicOffset = 28;
    public const int ClientUnixOffset = 36;
    public const int ResponderMonotonicOffset = 44;
    public const int Length = 52;

    public static ReadOnlySpan<byte> Magic => "DATAPLANE-PROBE"u8;

    public static void WriteProbe(Span<byte> packet, uint runId, ulong sequence, long clientMonotonicNs, long clientUnixNs)
    {
        if (packet.Length < Length) throw new ArgumentException($"a probe needs {Length} bytes", nameof(packet));
        Magic.CopyTo(packet);
        packet[KindOffset] = (byte)ProbeKind.Probe;
        BinaryPrimitives.WriteUInt32BigEndian(packet[RunIdOffset..], runId);
        BinaryPrimitives.WriteUInt64BigEndian(packet[SequenceOffset..], sequence);
        BinaryPrimitives.WriteInt64BigEndian(packet[ClientMonotonicOffset..], clientMonotonicNs);
        BinaryPrimitives.WriteInt64BigEndian(packet[ClientUnixOffset..], clientUnixNs);
        BinaryPrimitives.WriteInt64BigEndian(packet[ResponderMonotonicOffset..], 0);
    }

    public static bool HasMagic(ReadOnlySpan<byte> packet) =>
        packet.Length >= Length && packet[..MagicLength].SequenceEqual(Magic);

    /// <summary>Turns a received probe into its acknowledgement in place. False (and no change) for anything else.</summary>
    public static bool TryMakeAck(Span<byte> packet, long responderMonotonicNs)
    {
        if (!HasMagic(packet) || packet[KindOffset] != (byte)ProbeKind.Probe) return false;
        packet[KindOffset] = (byte)ProbeKind.Ack;
        ulong seq = BinaryPrimitives.ReadUInt64BigEndian(packet[SequenceOffset..]);
        BinaryPrimitives.WriteUInt64BigEndian(packet[SequenceOffset..], seq + 1);
        BinaryPrimitives.WriteInt64BigEndian(packet[ResponderMonotonicOffset..], responderMonotonicNs);
        return true;
    }

    /// <summary>Reads the sequence number of a probe (not an acknowledgement).</summary>
    public static bool TryReadProbeSequence(ReadOnlySpan<byte> packet, out ulong sequence)
    {
        sequence = 0;
        if (!HasMagic(packet) || packet[KindOffset] != (byte)ProbeKind.Probe) return false;
        sequence = BinaryPrimitives.ReadUInt64BigEndian(packet[SequenceOffset..]);
        return true;
    }

    /// <summary>Reads an acknowledgement: the acknowledged probe's sequence number is <c>ackSequence − 1</c>.</summary>
    public static bool TryReadAck(ReadOnlySpan<byte> packet, out uint runId, out ulong ackSequence, out long clientMonotonicNs)
    {
        runId = 0;
        ackSequence = 0;
        clientMonotonicNs = 0;
        if (!HasMagic(packet) || packet[KindOffset] != (byte)ProbeKind.Ack) return false;
        runId = BinaryPrimitives.ReadUInt32BigEndian(packet[RunIdOffset..]);
        ackSequence = BinaryPrimitives.ReadUInt64BigEndian(packet[SequenceOffset..]);
        clientMonotonicNs = BinaryPrimitives.ReadInt64BigEndian(packet[ClientMonotonicOffset..]);
        return true;
    }
}

/// <summary>
/// The TCP survivability message: 32 bytes, big-endian.
/// <code>0 magic "DATAPLANE-PROBE" (15)   15 kind (TcpData or TcpEnd)   16 sequence (8)   24 client monotonic ns (8)</code>
/// </summary>
public static class TcpProbeMessage
{
    public const int Length = 32;
    public const int KindOffset = 15;
    public const int SequenceOffset = 16;
    public const int ClientMonotonicOffset = 24;

    public static void Write(Span<byte> message, ProbeKind kind, ulong sequence, long clientMonotonicNs)
    {
        UdpProbeMessage.Magic.CopyTo(message);
        message[KindOffset] = (byte)kind;
        BinaryPrimitives.WriteUInt64BigEndian(message[SequenceOffset..], sequence);
        BinaryPrimitives.WriteInt64BigEndian(message[ClientMonotonicOffset..], clientMonotonicNs);
    }

    public static bool TryRead(ReadOnlySpan<byte> message, out ProbeKind kind, out ulong sequence, out long clientMonotonicNs)
    {
        kind = default;
        sequence = 0;
        clientMonotonicNs = 0;
        if (message.Length < Length || !message[..UdpProbeMessage.MagicLength].SequenceEqual(UdpProbeMessage.Magic)) return false;
        kind = (ProbeKind)message[KindOffset];
        if (kind is not (ProbeKind.TcpData or ProbeKind.TcpEnd)) return false;
        sequence = BinaryPrimitives.ReadUInt64BigEndian(message[SequenceOffset..]);
        clientMonotonicNs = BinaryPrimitives.ReadInt64BigEndian(message[ClientMonotonicOffset..]);
        return true;
    }
}
