using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DataPlane.Wire;

/// <summary>
/// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of
/// the data taken as big-endian 16-bit words.
/// </summary>
/// <remarks>
/// Partial sums are carried as a <see cref="uint"/> in "big-endian word" space so that a pseudo-header,
/// a header and a payload can be summed separately and combined with <see cref="Add"/>.
/// Only the last piece summed may have odd length (an odd trailing byte is padded with zero).
/// </remarks>
public static class InternetChecksum
{
    /// <summary>One's complement sum of <paramref name="data"/> added to <paramref name="partial"/>.</summary>
    public static uint Sum(ReadOnlySpan<byte> data, uint partial = 0)
    {
        ulong acc = partial;
        int done = 0;
        if (data.Length >= 64)
        {
            // The bulk in vectors, in little-endian word space: a one's complement sum does not depend on the
            // byte order (RFC 1071 §2(B)), so the folded sum of the little-endian words, byte-swapped, is the
            // big-endian one. 32-bit words widened into 64-bit lanes cannot overflow for any packet.
            done = data.Length & ~31;
            acc += BinaryPrimitives.ReverseEndianness(Fold16(SumLittleEndian(data[..done])));
        }
        // Eight bytes at a time: the sum of big-endian 32-bit words folds to the same 16-bit
        // one's complement sum as the 16-bit words do (RFC 1071 §2(B)); a ulong cannot overflow
        // before 2^32 words, far beyond any packet.
        var rest = data[done..];
        var words = MemoryMarshal.Cast<byte, ulong>(rest);
        foreach (ulong w in words)
        {
            ulong be = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(w) : w;
            acc += (be >> 32) + (be & 0xFFFF_FFFFUL);
        }
        int i = words.Length * 8;
        for (; i + 1 < rest.Length; i += 2)
            acc += BinaryPrimitives.ReadUInt16BigEndian(rest.Slice(i, 2));
        if (i < rest.Length)
            acc += (uint)rest[i] << 8;
        return Reduce(acc);
    }

    /// <summary>Sum of the 32-bit little-endian words of <paramref name="data"/> (a multiple of 32 bytes).</summary>
    private static ulong SumLittleEndian(ReadOnlySpan<byte> data)
    {
        ref byte start = ref MemoryMarshal.GetReference(data);
        if (!BitConverter.IsLittleEndian)
        {
            ulong be = 0;
            for (int k = 0; k < data.Length; k += 4) be += BinaryPrimitives.ReadUInt32LittleEndian(data[k..]);
            return be;
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var a = Vector256<ulong>.Zero;
            var b = Vector256<ulong>.Zero;
            for (nuint k = 0; k < (nuint)data.Length; k += 32)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref start, k).AsUInt32());
                a += lo;
                b += hi;
            }
            return Vector256.Sum(a + b);
        }
        var c = Vector128<ulong>.Zero;
        var d = Vector128<ulong>.Zero;
        for (nuint k = 0; k < (nuint)data.Length; k += 16)
        {
            var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref start, k).AsUInt32());
            c += lo;
            d += hi;
        }
        return Vector128.Sum(c + d);
    }

    /// <summary>Fold a 64-bit one's complement sum to 16 bits (no complement).</summary>
    private static ushort Fold16(ulong acc)
    {
        acc = (acc & 0xFFFF_FFFFUL) + (acc >> 32);
        acc = (acc & 0xFFFF_FFFFUL) + (acc >> 32);
        acc = (acc & 0xFFFF) + (acc >> 16);
        acc = (acc & 0xFFFF) + (acc >> 16);
        acc = (acc & 0xFFFF) + (acc >> 16);
        return (ushort)acc;
    }

    /// <summary>Combine two partial sums.</summary>
    public static uint Add(uint a, uint b) => Reduce((ulong)a + b);

    /// <summary>Fold a partial sum to 16 bits and complement it: the value to put in a checksum field.</summary>
    public static ushort Finish(uint partial)
    {
        uint s = partial;
        s = (s & 0xFFFF) + (s >> 16);
        s = (s & 0xFFFF) + (s >> 16);
        return (ushort)~s;
    }

    /// <summary>The checksum of a whole buffer.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Sum(data));

    /// <summary>
    /// True when data that contains its own checksum field sums to 0xFFFF (i.e. verifies).
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> data, uint pseudoHeader = 0) => Finish(Sum(data, pseudoHeader)) == 0;

    /// <summary>The IPv6 pseudo-header (RFC 8200 §8.1): source, destination, upper-layer length, next header.</summary>
    public static uint PseudoHeader(Ipv6Address source, Ipv6Address destination, uint upperLayerLength, byte nextHeader)
    {
        ulong acc = FoldHalves(source.High) + FoldHalves(source.Low) + FoldHalves(destination.High) + FoldHalves(destination.Low);
        acc += (upperLayerLength >> 16) + (upperLayerLength & 0xFFFF) + nextHeader;
        return Reduce(acc);
    }

    /// <summary>The IPv4 pseudo-header (RFC 768/793): source, destination, zero, protocol, length.</summary>
    public static uint PseudoHeader(Ipv4Address source, Ipv4Address destination, ushort length, byte protocol)
    {
        ulong acc = (source.Value >> 16) + (source.Value & 0xFFFF) + (destination.Value >> 16) + (destination.Value & 0xFFFF);
        acc += (uint)protocol + length;
        return Reduce(acc);
    }

    /// <summary>
    /// Incremental update when one 16-bit word of the covered data changes (RFC 1624 eqn. 3):
    /// HC' = ~(~HC + ~m + m').
    /// </summary>
    public static ushort Update(ushort checksum, ushort oldWord, ushort newWord)
    {
        uint s = (uint)(ushort)~checksum + (ushort)~oldWord + newWord;
        s = (s & 0xFFFF) + (s >> 16);
        s = (s & 0xFFFF) + (s >> 16);
        return (ushort)~s;
    }

    private static ulong FoldHalves(ulong v) => (v >> 48) + ((v >> 32) & 0xFFFF) + ((v >> 16) & 0xFFFF) + (v & 0xFFFF);

    private static uint Reduce(ulong acc)
    {
        acc = (acc & 0xFFFF_FFFFUL) + (acc >> 32);
        acc = (acc & 0xFFFF_FFFFUL) + (acc >> 32);
        return (uint)acc;
    }
}
