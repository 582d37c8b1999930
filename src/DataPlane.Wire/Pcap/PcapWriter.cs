using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>Link types of the pcap format (tcpdump.org LINKTYPE_ values).</summary>
public enum PcapLinkType : uint
{
    Ethernet = 1,
    /// <summary>Raw IP: each record starts with an IPv4 or IPv6 header.</summary>
    Raw = 101,
}

/// <summary>
/// Writes the classic libpcap file format (microsecond timestamps, little-endian), which tshark,
/// Wireshark and tcpdump all read. Used for packet captures taken from the switch and by tests that
/// hand our frames to tshark. Writing a record allocates nothing.
/// </summary>
public sealed class PcapWriter : IDisposable
{
    private const uint Magic = 0xA1B2C3D4;
    private const int GlobalHeaderLength = 24;
    private const int RecordHeaderLength = 16;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly int _snapLength;

    public PcapWriter(Stream stream, PcapLinkType linkType = PcapLinkType.Ethernet, int snapLength = 262_144, bool leaveOpen = false)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        _snapLength = snapLength;
        Span<byte> h = stackalloc byte[GlobalHeaderLength];
        BinaryPrimitives.WriteUInt32LittleEndian(h, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 2); // version 2.4
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], 0);  // GMT offset
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], 0); // timestamp accuracy
        BinaryPrimitives.WriteInt32LittleEndian(h[16..], snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], (uint)linkType);
        _stream.Write(h);
    }

    public long RecordsWritten { get; private set; }

    /// <summary>Append one packet captured at <paramref name="timestamp"/> (time since the Unix epoch).</summary>
    public void Write(ReadOnlySpan<byte> packet, TimeSpan timestamp)
    {
        int captured = Math.Min(packet.Length, _snapLength);
        Span<byte> h = stackalloc byte[RecordHeaderLength];
        long micros = timestamp.Ticks / (TimeSpan.TicksPerMillisecond / 1000);
        BinaryPrimitives.WriteUInt32LittleEndian(h, (uint)(micros / 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)(micros % 1_000_000));
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], captured);
        BinaryPrimitives.WriteInt32LittleEndian(h[12..], packet.Length);
        _stream.Write(h);
        _stream.Write(packet[..captured]);
        RecordsWritten++;
    }

    public void Flush() => _stream.Flush();

    public void Dispose()
    {
        _stream.Flush();
        if (!_leaveOpen) _stream.Dispose();
    }
}
