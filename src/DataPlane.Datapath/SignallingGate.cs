using DataPlane.Protocol;
using DataPlane.Protocol.Security;
using DataPlane.Wire;

namespace DataPlane.Datapath;

/// <summary>
/// The data paths' side of the RFC 5213 §4 policy, shared by the MAG and the LMA: every Mobility Header the
/// machine sends goes through <see cref="Write"/> (into ESP when keys are configured), every one received goes
/// through <see cref="TryOpen"/> (ESP) or <see cref="TryAcceptPlaintext"/> (in the clear) before it is parsed.
/// </summary>
internal sealed class SignallingGate(SignallingSecurity security)
{
    /// <summary>The Mobility Header is written here first, then sealed into the control output slot.</summary>
    private readonly byte[] _scratch = new byte[ControlOutput.MinFrameCapacity];

    public SignallingSecurity Security { get; } = security;

    /// <summary>Queue <paramref name="message"/> for the uplink: in the clear, or in ESP when keys are configured (dropped and counted when no SA covers the peer).</summary>
    public void Write(ControlOutput output, DatapathCounters counters, Ipv6Address source, Ipv6Address destination, MobilityMessage message, Instant now)
    {
        if (!Security.Enabled)
        {
            ControlMessages.WriteMobilityMessage(output, counters, source, destination, message);
            return;
        }
        if (!output.TryBegin(out var slot))
        {
            counters.ControlOutputOverflows++;
            return;
        }
        int mhLength = message.WriteTo(_scratch, source, destination);
        if (mhLength + SignallingSecurity.MaxOverhead > slot.Length)
        {
            counters.ControlOutputOverflows++;
            return;
        }
        if (!Security.TryProtect(destination, _scratch.AsSpan(0, mhLength), slot, now, out int length)) return;
        output.Commit(new ControlFrame(ControlSink.EspSocket, ControlMessageKind.MobilityMessage, default, source, destination, length));
        counters.ControlSent.Increment(ControlMessageKind.MobilityMessage);
    }

    /// <summary>A Mobility Header received in the clear: null (counted by the policy) when keys are configured.</summary>
    public bool TryAcceptPlaintext(Ipv6Address source) => Security.AcceptPlaintext(source);

    /// <summary>
    /// An ESP packet from the uplink: verified and opened in place (the policy counts every refusal by reason),
    /// then the Mobility Header inside parsed with its checksum checked for <paramref name="source"/> →
    /// <paramref name="destination"/> (no kernel checks the checksum of a Mobility Header inside ESP).
    /// </summary>
    public MobilityMessage? TryOpen(Span<byte> packet, Ipv6Address source, Ipv6Address destination, Instant now, DatapathCounters counters)
    {
        var verdict = Security.Unprotect(source, destination, packet, now, out var payload);
        if (!verdict.Accepted) return null;
        if (ControlMessages.ParseMobilityMessage(packet[payload], source, destination, verifyChecksum: true) is not { } message)
        {
            counters.MobilityMessagesMalformed++;
            return null;
        }
        return message;
    }
}
