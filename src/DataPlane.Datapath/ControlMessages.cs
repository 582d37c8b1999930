using DataPlane.Protocol;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>Control-output writes shared by the MAG and LMA data paths.</summary>
internal static class ControlMessages
{
    /// <summary>
    /// Serialise a Mobility Header message for the raw MH socket, checksum filled for
    /// <paramref name="source"/> → <paramref name="destination"/> (the kernel would fill it on an
    /// IPPROTO_MH socket, but then the bytes are right on any other path too).
    /// </summary>
    public static void WriteMobilityMessage(ControlOutput output, DatapathCounters counters, Ipv6Address source, Ipv6Address destination,
        MobilityMessage message)
    {
        if (!output.TryBegin(out var slot))
        {
            counters.ControlOutputOverflows++;
            return;
        }
        int length = message.WriteTo(slot, source, destination);
        output.Commit(new ControlFrame(ControlSink.MobilityHeaderSocket, ControlMessageKind.MobilityMessage, default, source, destination, length));
        counters.ControlSent.Increment(ControlMessageKind.MobilityMessage);
    }

    /// <summary>Parse (and optionally checksum-verify) a Mobility Header received on the raw MH socket; null when it is unusable.</summary>
    public static MobilityMessage? ParseMobilityMessage(ReadOnlySpan<byte> mh, Ipv6Address source, Ipv6Address destination, bool verifyChecksum)
    {
        if (!MobilityHeader.TryValidate(mh, out int length, out _)) return null;
        if (verifyChecksum
            && !InternetChecksum.Verify(mh[..length], InternetChecksum.PseudoHeader(source, destination, (uint)length, (byte)IpProtocol.Mobility)))
            return null;
        return MobilityMessage.TryParse(mh, out var message, out _) ? message : null;
    }

    /// <summary>Seconds for an ND lifetime field: negative is 0, beyond the field is "infinity" (all ones).</summary>
    public static uint Seconds(TimeSpan t) =>
        t <= TimeSpan.Zero ? 0 : t.TotalSeconds >= uint.MaxValue ? uint.MaxValue : (uint)t.TotalSeconds;
}
