using System.Buffers.Binary;

namespace DataPlane.Experiment;

/// <summary>The traffic classes of the seed's Figure 11, as this testbed has them.</summary>
public enum TrafficClass
{
    /// <summary>The hypervisor's memory stream (Xen's in the seed; the pre-copy TCP stream here).</summary>
    Migration,
    /// <summary>The VM's traffic with the client: IPv6-in-IPv6 between a MAG and the LMA (the probes, the TCP test).</summary>
    Client,
    /// <summary>Mobility Header (PBU, PBA, heartbeat) and AAA (RADIUS, UDP 1812/1813).</summary>
    Mobility,
    /// <summary>Everything else: Neighbor Discovery, MLD, other ICMPv6, non-IPv6.</summary>
    Other,
}

/// <summary>Bytes and frames per class of one capture (frame lengths as on the wire, Ethernet header included).</summary>
public sealed class TrafficTally
{
    public readonly long[] Bytes = new long[4];
    public readonly long[] Frames = new long[4];

    /// <summary>Neighbor Discovery (ICMPv6 133–137) bytes, a part of <see cref="TrafficClass.Other"/>; the seed's
    /// paper counted ND with mobility signalling.</summary>
    public long NeighborDiscoveryBytes;

    public long TotalBytes => Bytes.Sum();

    public void Add(TrafficClass c, long bytes)
    {
        Bytes[(int)c] += bytes;
        Frames[(int)c]++;
    }

    public double SharePercent(TrafficClass c) => TotalBytes == 0 ? 0 : Bytes[(int)c] * 100.0 / TotalBytes;
}

/// <summary>
/// Reads a capture (pcapng as dumpcap writes it, or classic pcap) and sorts every Ethernet frame into a
/// <see cref="TrafficClass"/> by walking its IPv6 header chain. Works on truncated captures (a small
/// snap length): the class needs only the headers, the byte count is the original length.
/// </summary>
public static class TrafficClassifier
{
    public const int RadiusAuthPort = 1812;
    public const int RadiusAccountingPort = 1813;

    public static TrafficTally ClassifyFile(string path, int migrationPort)
    {
        var tally = new TrafficTally();
        foreach (var (data, originalLength) in ReadFrames(File.ReadAllBytes(path)))
        {
            var c = Classify(data, migrationPort, out bool nd);
            tally.Add(c, originalLength);
            if (nd) tally.NeighborDiscoveryBytes += originalLength;
        }
        return tally;
    }

    /// <summary>The class of one Ethernet frame (possibly cut short by the capture's snap length).</summary>
    public static TrafficClass Classify(ReadOnlySpan<byte> frame, int migrationPort, out bool neighborDiscovery)
    {
        neighborDiscovery = false;
        if (frame.Length < 14) return TrafficClass.Other;
        int etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        int offset = 14;
        if (etherType == 0x8100 && frame.Length >= 18)
        {
            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[16..]);
            offset = 18;
        }
        if (etherType != 0x86DD || frame.Length < offset + 40) return TrafficClass.Other;
        int next = frame[offset + 6];
        int at = offset + 40;
        // Extension headers: hop-by-hop 0, routing 43, destination options 60 (length in 8-octet units + 1), fragment 44 (8).
        for (int guard = 0; guard < 8; guard++)
        {
            if (next is 0 or 43 or 60)
            {
                if (frame.Length < at + 2) return TrafficClass.Other;
                int len = (frame[at + 1] + 1) * 8;
                next = frame[at];
                at += len;
            }
            else if (next == 44)
            {
                if (frame.Length < at + 8) return TrafficClass.Other;
                next = frame[at];
                at += 8;
            }
            else break;
        }
        switch (next)
        {
            case 135:
                return TrafficClass.Mobility;
            case 41: // IPv6 in IPv6
            case 4:  // IPv4 in IPv6 (RFC 5844 §3.1.3): a dual-stack or IPv4-only VM's traffic
                return TrafficClass.Client;
            case 58:
                if (frame.Length > at && frame[at] is >= 133 and <= 137) neighborDiscovery = true;
                return TrafficClass.Other;
            case 6:
            case 17:
                if (frame.Length < at + 4) return TrafficClass.Other;
                int sport = BinaryPrimitives.ReadUInt16BigEndian(frame[at..]);
                int dport = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 2)..]);
                if (next == 6 && (sport == migrationPort || dport == migrationPort)) return TrafficClass.Migration;
                if (next == 17 && (sport is RadiusAuthPort or RadiusAccountingPort || dport is RadiusAuthPort or RadiusAccountingPort)) return TrafficClass.Mobility;
                return TrafficClass.Other;
            default:
                return TrafficClass.Other;
        }
    }

    /// <summary>Every packet of a pcapng or pcap file: its captured bytes and its original length.</summary>
    public static IEnumerable<(byte[] Data, long OriginalLength)> ReadFrames(byte[] file)
    {
        if (file.Length < 24) yield break;
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        if (magic == 0x0A0D0D0A)
        {
            foreach (var f in ReadPcapng(file)) yield return f;
        }
        else if (magic is 0xA1B2C3D4 or 0xA1B23C4D)
        {
            int at = 24;
            while (at + 16 <= file.Length)
            {
                int incl = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8));
                long orig = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 12));
                if (at + 16 + incl > file.Length) yield break;
                yield return (file.AsSpan(at + 16, incl).ToArray(), orig);
                at += 16 + incl;
            }
        }
        else
        {
            throw new InvalidDataException($"not a pcap or pcapng file (magic 0x{magic:x8}); big-endian captures are not supported");
        }
    }

    private static IEnumerable<(byte[] Data, long OriginalLength)> ReadPcapng(byte[] file)
    {
        int at = 0;
        while (at + 12 <= file.Length)
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at));
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 4));
            if (length < 12 || at + length > file.Length) yield break;
            if (type == 6 && length >= 32)
            {
                // Enhanced Packet Block: interface, timestamp (2×4), captured length, original length, data.
                int captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 20));
                long original = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 24));
                if (28 + captured <= length) yield return (file.AsSpan(at + 28, captured).ToArray(), original);
            }
            else if (type == 3 && length >= 16)
            {
                // Simple Packet Block: original length, data (cut to the snap length).
                long original = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8));
                int captured = Math.Min(length - 16, (int)original);
                yield return (file.AsSpan(at + 12, captured).ToArray(), original);
            }
            at += length;
        }
    }
}
