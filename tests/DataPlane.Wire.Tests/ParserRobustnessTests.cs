using CsCheck;

namespace DataPlane.Wire.Tests;

/// <summary>
/// Random and mutated bytes into every parser: none may throw, and whatever a checked constructor
/// accepts must be readable through every accessor without throwing (C# span bounds checks turn any
/// read outside the buffer into an exception, so "no exception" also means "no out-of-bounds read").
/// </summary>
public class ParserRobustnessTests
{
    private const long Iterations = 20_000;

    private static readonly Gen<byte[]> AnyBytes = Gen.Byte.Array[0, 300];

    /// <summary>Feed every parser the same bytes, reading every accessor of whatever parses.</summary>
    internal static void ParseEverything(byte[] input)
    {
        var b = (byte[])input.Clone();
        if (EthernetFrame.TryCreate(b, out var eth, out _))
        {
            _ = (eth.Destination, eth.Source, eth.EtherType, eth.VlanId, eth.HasVlanTag, eth.Payload.Length);
        }
        if (ArpPacket.TryCreate(b, out var arp, out _))
        {
            _ = arp.ToRepr();
            _ = arp.IsGratuitous;
        }
        if (Ipv4Packet.TryCreate(b, out var v4, out _))
        {
            _ = (v4.HeaderLength, v4.TotalLength, v4.Identification, v4.DontFragment, v4.MoreFragments, v4.FragmentOffset,
                 v4.TimeToLive, v4.Protocol, v4.Source, v4.Destination, v4.Options.Length, v4.Payload.Length,
                 v4.IsHeaderChecksumValid, v4.PseudoHeaderSum);
        }
        if (Ipv6Packet.TryCreate(b, out var v6, out _))
        {
            _ = (v6.TrafficClass, v6.FlowLabel, v6.PayloadLength, v6.NextHeader, v6.HopLimit, v6.Source, v6.Destination);
            if (v6.TryWalkHeaders(out var chain, out _))
                Assert.InRange(chain.UpperLayerOffset, 0, v6.Payload.Length);
        }
        if (MobilityHeader.TryCreate(b, out var mh, out _))
        {
            _ = (mh.PayloadProto, mh.Type, mh.Checksum, mh.MessageData.Length);
            _ = mh.IsChecksumValid(default, default);
        }
        if (MobilityMessage.TryParse(b, out var msg, out _))
        {
            // Whatever parses must write back and parse to the same thing.
            var buffer = new byte[msg!.GetLength()];
            msg.WriteTo(buffer, default, default);
            Assert.True(MobilityMessage.TryParse(buffer, out var again, out var err), err.ToString());
            Assert.Equal(msg, again);
        }
        FrameClassifier.Classify(b, out var info);
        if (info.Kind != FrameKind.Malformed)
        {
            Assert.Equal(WireError.None, info.Error);
            Assert.InRange(info.UpperLayerOffset, 0, b.Length);
        }
    }

    [Fact]
    public void Random_bytes_never_throw() => AnyBytes.Sample(ParseEverything, iter: Iterations);

    [Fact]
    public void Mutated_pbu_never_throws()
    {
        var pbu = Hex.Bytes(MobilityHeaderVectorTests.PbuVector);
        Generators.Mutated(pbu).Sample(ParseEverything, iter: Iterations);
    }

    [Fact]
    public void Mutated_frames_never_throw()
    {
        foreach (var frame in SampleFrames.All())
            Generators.Mutated(frame).Sample(ParseEverything, iter: Iterations / 4);
    }
}
