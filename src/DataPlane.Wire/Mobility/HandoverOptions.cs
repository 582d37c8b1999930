using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// Transient Binding (RFC 6058 §5.1, mobility option 43): reserved(7 bits) L(1 bit) lifetime(1 octet, units of
/// 100 ms). Layout as RFC 6058 has it (checked against two independent implementations, PcapDotNet's
/// IpV6MobilityOptionTransientBinding and PyPCAPKit's TransientBindingOption): L is the low bit of the first octet.
/// With L set the LMA keeps forwarding downlink to the previous MAG ("late path switch") while it accepts uplink
/// from the new one.
/// </summary>
public sealed record TransientBindingOption(bool LatePathSwitch, byte Lifetime) : MobilityOption
{
    public const byte LatePathSwitchFlag = 0x01;

    /// <summary>One lifetime unit.</summary>
    public static readonly TimeSpan LifetimeUnit = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest transient lifetime the option can carry: 255 × 100 ms.</summary>
    public static readonly TimeSpan MaxLifetime = LifetimeUnit * byte.MaxValue;

    public TimeSpan LifetimeSpan => LifetimeUnit * Lifetime;

    /// <summary>The option for <paramref name="lifetime"/>, rounded down to whole units and capped at <see cref="MaxLifetime"/>.</summary>
    public static TransientBindingOption For(bool latePathSwitch, TimeSpan lifetime) =>
        new(latePathSwitch, (byte)Math.Clamp(lifetime.Ticks / LifetimeUnit.Ticks, 0, byte.MaxValue));

    public override byte RawType => (byte)MobilityOptionType.TransientBinding;
    public override int DataLength => MobilityOptionLayout.TransientBindingDataLength;

    public override void WriteData(Span<byte> data)
    {
        data[0] = LatePathSwitch ? LatePathSwitchFlag : (byte)0;
        data[1] = Lifetime;
    }

    internal static TransientBindingOption Read(ReadOnlySpan<byte> data) => new((data[0] & LatePathSwitchFlag) != 0, data[1]);
}

/// <summary>
/// What a live migration's source delivered last to the stopped VM: the identity (<see cref="DownlinkIdentity"/>)
/// of the last downlink packet it handed to the VM's port before the VM stopped, so that the destination, which
/// got a copy of every downlink packet (the LMA bicasts during the migration), delivers exactly the ones after it.
/// </summary>
/// <param name="Delivered">False when the source never delivered anything on this session (the destination keeps everything).</param>
public readonly record struct DeliveryMarker(bool Delivered, DownlinkIdentity Last)
{
    public static DeliveryMarker None => default;
}

/// <summary>
/// The delivery marker, carried in an Experimental Mobility Option (RFC 5096 §4, option 18: "for experimentation,
/// not for deployment"; the format is ours and documented in docs/protocol.md):
/// <code>
/// 'D' 'P' version(1)=1 flags(1) | identity(8) | TCP sequence end(4)
/// flags: 0x01 delivered, 0x02 TCP, 0x04 TCP with payload
/// </code>
/// Option 18 with any other content is an <see cref="UnknownMobilityOption"/>.
/// </summary>
public sealed record DeliveryMarkerOption(DeliveryMarker Marker) : MobilityOption
{
    public const byte Version = 1;
    public const byte FlagDelivered = 0x01;
    public const byte FlagTcp = 0x02;
    public const byte FlagTcpPayload = 0x04;

    public override byte RawType => (byte)MobilityOptionType.ExperimentalMobilityOption;
    public override int DataLength => MobilityOptionLayout.DeliveryMarkerDataLength;

    public override void WriteData(Span<byte> data)
    {
        data[0] = (byte)'D';
        data[1] = (byte)'P';
        data[2] = Version;
        var m = Marker;
        byte flags = m.Delivered ? FlagDelivered : (byte)0;
        if (m.Last.Kind != DownlinkIdentityKind.Other) flags |= FlagTcp;
        if (m.Last.Kind == DownlinkIdentityKind.TcpData) flags |= FlagTcpPayload;
        data[3] = flags;
        BinaryPrimitives.WriteUInt64BigEndian(data[4..], m.Last.Hash);
        BinaryPrimitives.WriteUInt32BigEndian(data[12..], m.Last.SequenceEnd);
    }

    /// <summary>Our content in an option 18, or false (someone else's experiment).</summary>
    internal static bool TryRead(ReadOnlySpan<byte> data, out DeliveryMarkerOption? option)
    {
        option = null;
        if (data.Length != MobilityOptionLayout.DeliveryMarkerDataLength || data[0] != 'D' || data[1] != 'P' || data[2] != Version) return false;
        byte flags = data[3];
        var kind = (flags & FlagTcp) == 0 ? DownlinkIdentityKind.Other
            : (flags & FlagTcpPayload) != 0 ? DownlinkIdentityKind.TcpData : DownlinkIdentityKind.TcpEmpty;
        uint end = BinaryPrimitives.ReadUInt32BigEndian(data[12..]);
        // Only the end of the marker's sequence range matters (DownlinkIdentity.Holds): its start is not sent.
        var identity = new DownlinkIdentity(kind, BinaryPrimitives.ReadUInt64BigEndian(data[4..]), end, end);
        option = new DeliveryMarkerOption(new DeliveryMarker((flags & FlagDelivered) != 0, identity));
        return true;
    }
}
