using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace DataPlane.Wire;

/// <summary>
/// The parsed form of a DHCPv4 message over Ethernet, with the fields and options a server that hands
/// out one address per client needs for DISCOVER/OFFER/REQUEST/ACK/NAK/RELEASE (RFC 2131, RFC 2132).
/// Value equality throughout, so parsed messages compare by content.
/// </summary>
/// <remarks>
/// What is not represented is dropped on parsing: sname, file, and options not listed here (they are
/// skipped: a server answers only what it understands). When an option appears more than once the first
/// occurrence wins (RFC 3396 concatenation of long options is not done; none of these options needs it).
/// <see cref="WriteTo"/> writes the options in one fixed order, then End, then pads to 300 bytes.
/// </remarks>
public sealed record DhcpRepr(DhcpMessageType MessageType, uint TransactionId, MacAddress ClientHardwareAddress)
{
    /// <summary>A lease time of 0xFFFFFFFF means "infinite" (RFC 2131 §3.3).</summary>
    public const uint InfiniteLeaseTime = 0xFFFF_FFFF;

    // Option data lengths the RFC fixes (RFC 2132 §3.3, §5.1, §9.1, §9.6, §9.11, §9.14).
    private const int AddressDataLength = 4;
    private const int TimeDataLength = 4;
    private const int MtuDataLength = 2;
    private const int MessageTypeDataLength = 1;
    private const int MinimumClientIdentifierLength = 2;
    private const int OptionHeaderLength = 2;
    /// <summary>RFC 2132 §5.1: the smallest legal interface MTU.</summary>
    private const ushort MinimumMtu = 68;

    public DhcpFlags Flags { get; init; }
    /// <summary>secs.</summary>
    public ushort Seconds { get; init; }
    public byte Hops { get; init; }
    /// <summary>ciaddr.</summary>
    public Ipv4Address ClientAddress { get; init; }
    /// <summary>yiaddr.</summary>
    public Ipv4Address YourAddress { get; init; }
    /// <summary>siaddr (next bootstrap server).</summary>
    public Ipv4Address ServerAddress { get; init; }
    /// <summary>giaddr.</summary>
    public Ipv4Address RelayAgentAddress { get; init; }

    /// <summary>Option 50, sent by the client in DISCOVER and in REQUEST from SELECTING/INIT-REBOOT.</summary>
    public Ipv4Address? RequestedIpAddress { get; init; }
    /// <summary>Option 54: which server's OFFER the client accepted; required in OFFER, ACK and NAK.</summary>
    public Ipv4Address? ServerIdentifier { get; init; }
    /// <summary>Option 51, seconds (<see cref="InfiniteLeaseTime"/> for infinite).</summary>
    public uint? LeaseTime { get; init; }
    /// <summary>Option 58, T1, seconds.</summary>
    public uint? RenewalTime { get; init; }
    /// <summary>Option 59, T2, seconds.</summary>
    public uint? RebindingTime { get; init; }
    /// <summary>Option 1.</summary>
    public Ipv4Address? SubnetMask { get; init; }
    /// <summary>Option 3, in order of preference.</summary>
    public EquatableArray<Ipv4Address> Routers { get; init; }
    /// <summary>Option 6, in order of preference.</summary>
    public EquatableArray<Ipv4Address> DomainNameServers { get; init; }
    /// <summary>Option 15.</summary>
    public OctetString? DomainName { get; init; }
    /// <summary>Option 26.</summary>
    public ushort? InterfaceMtu { get; init; }
    /// <summary>Option 61: type byte then identifier (type 1 + MAC for Ethernet, or an RFC 4361 DUID).</summary>
    public OctetString? ClientIdentifier { get; init; }
    /// <summary>Option 12.</summary>
    public OctetString? HostName { get; init; }
    /// <summary>Option 55: the options the client asks for, in its order of preference.</summary>
    public EquatableArray<DhcpOptionCode> ParameterRequestList { get; init; }

    /// <summary>The op a message of this type carries: OFFER, ACK and NAK are replies, the rest requests.</summary>
    public BootpOperation Operation => OperationFor(MessageType);

    public bool IsBroadcast => (Flags & DhcpFlags.Broadcast) != 0;

    public static BootpOperation OperationFor(DhcpMessageType type) =>
        type is DhcpMessageType.Offer or DhcpMessageType.Ack or DhcpMessageType.Nak ? BootpOperation.Reply : BootpOperation.Request;

    /// <summary>
    /// Parse a DHCP message (a UDP payload). Beyond <see cref="Dhcpv4Packet.TryValidate"/>: htype/hlen
    /// other than Ethernet → <see cref="WireError.Unsupported"/>; an option that overruns, or one of the
    /// options above with a length the RFC forbids → <see cref="WireError.BadOption"/>; no option 53 or
    /// a type other than 1–8 → <see cref="WireError.UnknownType"/>; an op that contradicts the type, or
    /// an MTU below 68 → <see cref="WireError.BadValue"/>.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, [NotNullWhen(true)] out DhcpRepr? repr, out WireError error)
    {
        repr = null;
        if (!Dhcpv4Packet.TryValidate(buffer, out error)) return false;
        if (buffer[Dhcpv4Packet.HardwareTypeOffset] != Dhcpv4Packet.HardwareTypeEthernet
            || buffer[Dhcpv4Packet.HardwareAddressLengthOffset] != MacAddress.Length)
        {
            error = WireError.Unsupported;
            return false;
        }

        byte? messageType = null;
        Ipv4Address? requested = null, serverId = null, subnetMask = null;
        uint? lease = null, t1 = null, t2 = null;
        EquatableArray<Ipv4Address>? routers = null, dns = null;
        OctetString? domainName = null, clientId = null, hostName = null;
        ushort? mtu = null;
        EquatableArray<DhcpOptionCode>? parameters = null;

        var reader = new DhcpOptionReader(buffer[Dhcpv4Packet.OptionsOffset..]);
        while (reader.MoveNext())
        {
            var data = reader.CurrentData;
            bool lengthOk = true;
            switch (reader.CurrentCode)
            {
                case DhcpOptionCode.MessageType:
                    lengthOk = data.Length == MessageTypeDataLength;
                    if (lengthOk) messageType ??= data[0];
                    break;
                case DhcpOptionCode.RequestedIpAddress:
                    lengthOk = TryReadAddress(data, ref requested);
                    break;
                case DhcpOptionCode.ServerIdentifier:
                    lengthOk = TryReadAddress(data, ref serverId);
                    break;
                case DhcpOptionCode.SubnetMask:
                    lengthOk = TryReadAddress(data, ref subnetMask);
                    break;
                case DhcpOptionCode.IpAddressLeaseTime:
                    lengthOk = TryReadTime(data, ref lease);
                    break;
                case DhcpOptionCode.RenewalTime:
                    lengthOk = TryReadTime(data, ref t1);
                    break;
                case DhcpOptionCode.RebindingTime:
                    lengthOk = TryReadTime(data, ref t2);
                    break;
                case DhcpOptionCode.Router:
                    lengthOk = TryReadAddresses(data, ref routers);
                    break;
                case DhcpOptionCode.DomainNameServer:
                    lengthOk = TryReadAddresses(data, ref dns);
                    break;
                case DhcpOptionCode.DomainName:
                    lengthOk = TryReadText(data, 1, ref domainName);
                    break;
                case DhcpOptionCode.HostName:
                    lengthOk = TryReadText(data, 1, ref hostName);
                    break;
                case DhcpOptionCode.ClientIdentifier:
                    lengthOk = TryReadText(data, MinimumClientIdentifierLength, ref clientId);
                    break;
                case DhcpOptionCode.InterfaceMtu:
                    lengthOk = data.Length == MtuDataLength;
                    if (!lengthOk) break;
                    ushort value = BinaryPrimitives.ReadUInt16BigEndian(data);
                    if (value < MinimumMtu)
                    {
                        error = WireError.BadValue;
                        return false;
                    }
                    mtu ??= value;
                    break;
                case DhcpOptionCode.ParameterRequestList:
                    lengthOk = data.Length >= 1;
                    if (lengthOk && parameters is null)
                    {
                        var codes = new DhcpOptionCode[data.Length];
                        for (int i = 0; i < codes.Length; i++) codes[i] = (DhcpOptionCode)data[i];
                        parameters = EquatableArray.Create<DhcpOptionCode>(codes);
                    }
                    break;
            }
            if (!lengthOk)
            {
                error = WireError.BadOption;
                return false;
            }
        }
        if (reader.Error != WireError.None)
        {
            error = reader.Error;
            return false;
        }
        if (messageType is not { } mt || mt < (byte)DhcpMessageType.Discover || mt > (byte)DhcpMessageType.Inform)
        {
            error = WireError.UnknownType;
            return false;
        }
        var type = (DhcpMessageType)mt;
        if (buffer[Dhcpv4Packet.OperationOffset] != (byte)OperationFor(type))
        {
            error = WireError.BadValue;
            return false;
        }

        repr = new DhcpRepr(
            type,
            BinaryPrimitives.ReadUInt32BigEndian(buffer.Slice(Dhcpv4Packet.TransactionIdOffset, 4)),
            MacAddress.ReadFrom(buffer.Slice(Dhcpv4Packet.ClientHardwareAddressOffset, MacAddress.Length)))
        {
            Flags = (DhcpFlags)BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(Dhcpv4Packet.FlagsOffset, 2)),
            Seconds = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(Dhcpv4Packet.SecondsOffset, 2)),
            Hops = buffer[Dhcpv4Packet.HopsOffset],
            ClientAddress = Ipv4Address.ReadFrom(buffer.Slice(Dhcpv4Packet.ClientAddressOffset, 4)),
            YourAddress = Ipv4Address.ReadFrom(buffer.Slice(Dhcpv4Packet.YourAddressOffset, 4)),
            ServerAddress = Ipv4Address.ReadFrom(buffer.Slice(Dhcpv4Packet.ServerAddressOffset, 4)),
            RelayAgentAddress = Ipv4Address.ReadFrom(buffer.Slice(Dhcpv4Packet.RelayAgentAddressOffset, 4)),
            RequestedIpAddress = requested,
            ServerIdentifier = serverId,
            LeaseTime = lease,
            RenewalTime = t1,
            RebindingTime = t2,
            SubnetMask = subnetMask,
            Routers = routers ?? default,
            DomainNameServers = dns ?? default,
            DomainName = domainName,
            InterfaceMtu = mtu,
            ClientIdentifier = clientId,
            HostName = hostName,
            ParameterRequestList = parameters ?? default,
        };
        error = WireError.None;
        return true;
    }

    /// <summary>
    /// Write the message: fixed fields, options in a fixed order (53, 54, 50, 51, 58, 59, 1, 3, 6, 15,
    /// 26, 61, 12, 55), End, then Pad up to 300 bytes; returns its length. Throws if the buffer is
    /// shorter than <see cref="GetLength"/> or a list does not fit in an option's 255 bytes.
    /// </summary>
    public int WriteTo(Span<byte> destination)
    {
        Dhcpv4Packet.WriteHeader(destination, Operation, TransactionId, Flags, ClientAddress, YourAddress, ServerAddress,
            RelayAgentAddress, ClientHardwareAddress, Seconds, Hops);
        var w = new DhcpOptionWriter(destination);
        w.AddByte(DhcpOptionCode.MessageType, (byte)MessageType);
        if (ServerIdentifier is { } serverId) w.AddAddress(DhcpOptionCode.ServerIdentifier, serverId);
        if (RequestedIpAddress is { } requested) w.AddAddress(DhcpOptionCode.RequestedIpAddress, requested);
        if (LeaseTime is { } lease) w.AddUInt32(DhcpOptionCode.IpAddressLeaseTime, lease);
        if (RenewalTime is { } t1) w.AddUInt32(DhcpOptionCode.RenewalTime, t1);
        if (RebindingTime is { } t2) w.AddUInt32(DhcpOptionCode.RebindingTime, t2);
        if (SubnetMask is { } mask) w.AddAddress(DhcpOptionCode.SubnetMask, mask);
        if (!Routers.IsEmpty) w.AddAddresses(DhcpOptionCode.Router, Routers.AsSpan());
        if (!DomainNameServers.IsEmpty) w.AddAddresses(DhcpOptionCode.DomainNameServer, DomainNameServers.AsSpan());
        if (DomainName is { } domain) w.Add(DhcpOptionCode.DomainName, domain.Span);
        if (InterfaceMtu is { } mtu) w.AddUInt16(DhcpOptionCode.InterfaceMtu, mtu);
        if (ClientIdentifier is { } clientId) w.Add(DhcpOptionCode.ClientIdentifier, clientId.Span);
        if (HostName is { } host) w.Add(DhcpOptionCode.HostName, host.Span);
        if (!ParameterRequestList.IsEmpty)
        {
            var d = w.Begin(DhcpOptionCode.ParameterRequestList, ParameterRequestList.Count);
            for (int i = 0; i < d.Length; i++) d[i] = (byte)ParameterRequestList[i];
        }
        return w.Finish();
    }

    /// <summary>The length <see cref="WriteTo"/> will produce (at least 300).</summary>
    public int GetLength()
    {
        int options = OptionHeaderLength + MessageTypeDataLength;
        if (ServerIdentifier.HasValue) options += OptionHeaderLength + AddressDataLength;
        if (RequestedIpAddress.HasValue) options += OptionHeaderLength + AddressDataLength;
        if (LeaseTime.HasValue) options += OptionHeaderLength + TimeDataLength;
        if (RenewalTime.HasValue) options += OptionHeaderLength + TimeDataLength;
        if (RebindingTime.HasValue) options += OptionHeaderLength + TimeDataLength;
        if (SubnetMask.HasValue) options += OptionHeaderLength + AddressDataLength;
        if (!Routers.IsEmpty) options += OptionHeaderLength + Routers.Count * AddressDataLength;
        if (!DomainNameServers.IsEmpty) options += OptionHeaderLength + DomainNameServers.Count * AddressDataLength;
        if (DomainName is { } domain) options += OptionHeaderLength + domain.Length;
        if (InterfaceMtu.HasValue) options += OptionHeaderLength + MtuDataLength;
        if (ClientIdentifier is { } clientId) options += OptionHeaderLength + clientId.Length;
        if (HostName is { } host) options += OptionHeaderLength + host.Length;
        if (!ParameterRequestList.IsEmpty) options += OptionHeaderLength + ParameterRequestList.Count;
        return DhcpOptionWriter.FinishedLength(options);
    }

    private static bool TryReadAddress(ReadOnlySpan<byte> data, ref Ipv4Address? field)
    {
        if (data.Length != AddressDataLength) return false;
        field ??= Ipv4Address.ReadFrom(data);
        return true;
    }

    private static bool TryReadTime(ReadOnlySpan<byte> data, ref uint? field)
    {
        if (data.Length != TimeDataLength) return false;
        field ??= BinaryPrimitives.ReadUInt32BigEndian(data);
        return true;
    }

    /// <summary>A list of one or more addresses (RFC 2132 §3.5, §3.8: length a multiple of 4, at least 4).</summary>
    private static bool TryReadAddresses(ReadOnlySpan<byte> data, ref EquatableArray<Ipv4Address>? field)
    {
        if (data.Length < AddressDataLength || data.Length % AddressDataLength != 0) return false;
        if (field is null)
        {
            var addresses = new Ipv4Address[data.Length / AddressDataLength];
            for (int i = 0; i < addresses.Length; i++)
                addresses[i] = Ipv4Address.ReadFrom(data.Slice(i * AddressDataLength, AddressDataLength));
            field = EquatableArray.Create<Ipv4Address>(addresses);
        }
        return true;
    }

    private static bool TryReadText(ReadOnlySpan<byte> data, int minimumLength, ref OctetString? field)
    {
        if (data.Length < minimumLength) return false;
        field ??= new OctetString(data);
        return true;
    }
}
