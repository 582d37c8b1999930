using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// The result of walking an IPv6 extension header chain (RFC 8200 §4): which upper-layer protocol
/// follows and where, plus what a forwarder needs to know about fragmentation on the way.
/// </summary>
public readonly record struct Ipv6HeaderChain(
    IpProtocol UpperLayer,
    int UpperLayerOffset,
    int ExtensionHeaderCount,
    bool IsFragment,
    int FragmentOffset,
    bool MoreFragments)
{
    /// <summary>More than this many extension headers is treated as hostile (RFC 8200 allows each at most once or twice).</summary>
    public const int MaxExtensionHeaders = 8;

    /// <summary>
    /// Walk the headers in <paramref name="payload"/> starting from <paramref name="first"/>.
    /// Hop-by-hop and destination options have their TLVs checked to lie inside the header; routing
    /// and AH lengths are bounded by the buffer; a fragment header with a non-zero offset ends the walk
    /// (the upper-layer header is in the first fragment only). No accessor reads outside the buffer.
    /// </summary>
    public static bool TryWalk(ReadOnlySpan<byte> payload, IpProtocol first, out Ipv6HeaderChain chain, out WireError error)
    {
        chain = default;
        var next = first;
        int offset = 0, count = 0;
        bool isFragment = false, more = false;
        int fragOffset = 0;
        while (true)
        {
            switch (next)
            {
                case IpProtocol.HopByHop when count != 0:
                    // RFC 8200 §4.1: hop-by-hop may appear only immediately after the IPv6 header.
                    error = WireError.BadValue;
                    return false;
                case IpProtocol.HopByHop:
                case IpProtocol.DestinationOptions:
                case IpProtocol.Routing:
                {
                    if (payload.Length - offset < 8)
                    {
                        error = WireError.Truncated;
                        return false;
                    }
                    int len = (payload[offset + 1] + 1) * 8;
                    if (payload.Length - offset < len)
                    {
                        error = WireError.Truncated;
                        return false;
                    }
                    if (next != IpProtocol.Routing && !OptionsAreWellFormed(payload.Slice(offset + 2, len - 2)))
                    {
                        error = WireError.BadOption;
                        return false;
                    }
                    next = (IpProtocol)payload[offset];
                    offset += len;
                    break;
                }
                case IpProtocol.Fragment:
                {
                    if (payload.Length - offset < 8)
                    {
                        error = WireError.Truncated;
                        return false;
                    }
                    ushort offAndFlags = BinaryPrimitives.ReadUInt16BigEndian(payload.Slice(offset + 2, 2));
                    isFragment = true;
                    fragOffset = (offAndFlags >> 3) * 8;
                    more = (offAndFlags & 1) != 0;
                    next = (IpProtocol)payload[offset];
                    offset += 8;
                    if (fragOffset != 0)
                    {
                        // Later fragments carry no upper-layer header; report where the data starts.
                        chain = new(next, offset, count + 1, true, fragOffset, more);
                        error = WireError.None;
                        return true;
                    }
                    break;
                }
                case IpProtocol.AuthenticationHeader:
                {
                    if (payload.Length - offset < 8)
                    {
                        error = WireError.Truncated;
                        return false;
                    }
                    int len = (payload[offset + 1] + 2) * 4; // RFC 4302: length in 4-octet units minus 2
                    if (payload.Length - offset < len)
                    {
                        error = WireError.Truncated;
                        return false;
                    }
                    next = (IpProtocol)payload[offset];
                    offset += len;
                    break;
                }
                default:
                    // Upper layer (TCP, UDP, ICMPv6, MH, IP-in-IP, ESP, no next header, or unknown).
                    chain = new(next, offset, count, isFragment, fragOffset, more);
                    error = WireError.None;
                    return true;
            }
            if (++count > MaxExtensionHeaders)
            {
                error = WireError.TooManyHeaders;
                return false;
            }
        }
    }

    /// <summary>Every TLV option in a hop-by-hop or destination options header ends inside the header.</summary>
    private static bool OptionsAreWellFormed(ReadOnlySpan<byte> options)
    {
        int i = 0;
        while (i < options.Length)
        {
            if (options[i] == 0) // Pad1
            {
                i++;
                continue;
            }
            if (i + 2 > options.Length) return false;
            i += 2 + options[i + 1];
        }
        return i == options.Length;
    }
}
