using System.Buffers.Binary;

namespace DataPlane.Wire.Tests;

/// <summary>The vectorised sum agrees with RFC 1071 done the slow way, for every length, alignment and starting partial.</summary>
public class InternetChecksumSumTests
{
    /// <summary>RFC 1071 as written: big-endian 16-bit words, an odd last byte padded with zero, end-around carry.</summary>
    private static ushort Reference(ReadOnlySpan<byte> data, uint partial)
    {
        ulong acc = partial;
        int i = 0;
        for (; i + 1 < data.Length; i += 2) acc += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length) acc += (uint)data[i] << 8;
        while (acc >> 16 != 0) acc = (acc & 0xFFFF) + (acc >> 16);
        return (ushort)acc;
    }

    private static ushort Fold(uint sum)
    {
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    [Fact]
    public void The_sum_matches_the_reference_for_lengths_up_to_a_jumbo_segment_at_every_alignment()
    {
        var random = new Random(9);
        var buffer = new byte[70_000];
        random.NextBytes(buffer);
        foreach (int length in Enumerable.Range(0, 300).Concat([1399, 1400, 1460, 4095, 9000, 65_535, 65_536]))
        {
            for (int offset = 0; offset < 8; offset++)
            {
                uint partial = (uint)random.Next();
                var data = buffer.AsSpan(offset, length);
                Assert.Equal(Reference(data, partial), Fold(InternetChecksum.Sum(data, partial)));
            }
        }
    }

    [Fact]
    public void All_ones_data_sums_without_losing_a_carry()
    {
        var ones = new byte[65_536];
        Array.Fill(ones, (byte)0xFF);
        foreach (int length in new[] { 64, 96, 1500, 65_536 })
            Assert.Equal(Reference(ones.AsSpan(0, length), 0xFFFF_FFFF), Fold(InternetChecksum.Sum(ones.AsSpan(0, length), 0xFFFF_FFFF)));
    }
}
