using System.Buffers.Binary;

namespace DataPlane.Wire;

/// <summary>
/// A view over a DHCPv4 message, i.e. a UDP payload on ports 67/68 (RFC 2131 §2, the BOOTP layout of
/// RFC 951): op(1) htype(1) hlen(1) hops(1) xid(4) secs(2) flags(2) ciaddr(4) yiaddr(4) siaddr(4)
/// giaddr(4) chaddr(16) sname(64) file(128) magic cookie(4) options. The checked constructor
/// guarantees the 240 bytes up to and including the options' magic cookie, the cookie 99.130.83.99
/// (RFC 2131 §3; anything else is plain BOOTP or garbage, <see cref="WireError.BadValue"/>) and an
/// hlen that fits chaddr.
/// </summary>
/// <remarks>
/// Option overload (option 52, RFC 2132 §9.3) is not followed: options placed in sname/file are not
/// read, and those fields are only exposed as raw bytes. Clients do not overload their requests in
/// practice and the server we need never overloads its replies.
/// </remarks>
public readonly ref struct Dhcpv4Packet
{
    public const int OperationOffset = 0;
    public const int HardwareTypeOffset = 1;
    public const int HardwareAddressLengthOffset = 2;
    public const int HopsOffset = 3;
    public const int TransactionIdOffset = 4;
    public const int SecondsOffset = 8;
    public const int FlagsOffset = 10;
    public const int ClientAddressOffset = 12;
    public const int YourAddressOffset = 16;
    public const int ServerAddressOffset = 20;
    public const int RelayAgentAddressOffset = 24;
    public const int ClientHardwareAddressOffset = 28;
    public const int ServerNameOffset = 44;
    public const int BootFileNameOffset = 108;
    public const int MagicCookieOffset = 236;

    public const int ClientHardwareAddressLength = 16;
    public const int ServerNameLength = 64;
    public const int BootFileNameLength = 128;
    /// <summary>Where the options begin, right after the magic cookie; also the shortest DHCP message.</summary>
    public const int OptionsOffset = 240;
    /// <summary>
    /// The BOOTP minimum (RFC 951's 64-byte vendor area; RFC 1542 §2.1): some clients and relays drop
    /// shorter messages, so builders pad up to it.
    /// </summary>
    public const int MinimumBootpLength = 300;

    /// <summary>99.130.83.99 (RFC 2131 §3).</summary>
    public const uint MagicCookie = 0x63825363;

    /// <summary>The htype of Ethernet (ARP hardware type 1, RFC 1700).</summary>
    public const byte HardwareTypeEthernet = 1;

    private readonly Span<byte> _buffer;

    private Dhcpv4Packet(Span<byte> buffer) => _buffer = buffer;

    public static bool TryCreate(Span<byte> buffer, out Dhcpv4Packet packet, out WireError error)
    {
        packet = default;
        if (!TryValidate(buffer, out error)) return false;
        packet = new Dhcpv4Packet(buffer);
        return true;
    }

    /// <summary>The validation <see cref="TryCreate"/> does, usable on read-only input.</summary>
    public static bool TryValidate(ReadOnlySpan<byte> buffer, out WireError error)
    {
        if (buffer.Length < OptionsOffset)
        {
            error = WireError.Truncated;
            return false;
        }
        if (BinaryPrimitives.ReadUInt32BigEndian(buffer.Slice(MagicCookieOffset, 4)) != MagicCookie)
        {
            error = WireError.BadValue;
            return false;
        }
        if (buffer[HardwareAddressLengthOffset] > ClientHardwareAddressLength)
        {
            error = WireError.BadLength;
            return false;
        }
        error = WireError.None;
        return true;
    }

    /// <summary>The whole message (the UDP payload).</summary>
    public Span<byte> Buffer => _buffer;

    /// <summary>op.</summary>
    public BootpOperation Operation => (BootpOperation)_buffer[OperationOffset];
    /// <summary>htype: 1 for Ethernet.</summary>
    public byte HardwareType => _buffer[HardwareTypeOffset];
    /// <summary>hlen: how many bytes of chaddr are the address (6 for Ethernet).</summary>
    public byte HardwareAddressLength => _buffer[HardwareAddressLengthOffset];
    /// <summary>hops: incremented by relay agents.</summary>
    public byte Hops => _buffer[HopsOffset];
    /// <summary>xid: chosen by the client, echoed by the server.</summary>
    public uint TransactionId => BinaryPrimitives.ReadUInt32BigEndian(_buffer.Slice(TransactionIdOffset, 4));
    /// <summary>secs: seconds since the client began acquiring or renewing.</summary>
    public ushort Seconds => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(SecondsOffset, 2));
    public DhcpFlags Flags => (DhcpFlags)BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(FlagsOffset, 2));
    /// <summary>ciaddr: the client's address when it already has one (BOUND, RENEWING, REBINDING).</summary>
    public Ipv4Address ClientAddress => Ipv4Address.ReadFrom(_buffer.Slice(ClientAddressOffset, 4));
    /// <summary>yiaddr: the address the server offers or assigns.</summary>
    public Ipv4Address YourAddress => Ipv4Address.ReadFrom(_buffer.Slice(YourAddressOffset, 4));
    /// <summary>siaddr: the next server to use in bootstrap (not the DHCP server's identity; that is option 54).</summary>
    public Ipv4Address ServerAddress => Ipv4Address.ReadFrom(_buffer.Slice(ServerAddressOffset, 4));
    /// <summary>giaddr: the relay agent the message passed through, or 0.0.0.0.</summary>
    public Ipv4Address RelayAgentAddress => Ipv4Address.ReadFrom(_buffer.Slice(RelayAgentAddressOffset, 4));
    /// <summary>chaddr cut to hlen bytes.</summary>
    public Span<byte> ClientHardwareAddress => _buffer.Slice(ClientHardwareAddressOffset, HardwareAddressLength);
    /// <summary>sname: raw bytes (a NUL-terminated name, or options when overloaded).</summary>
    public Span<byte> ServerName => _buffer.Slice(ServerNameOffset, ServerNameLength);
    /// <summary>file: raw bytes (a NUL-terminated boot file name, or options when overloaded).</summary>
    public Span<byte> BootFileName => _buffer.Slice(BootFileNameOffset, BootFileNameLength);
    /// <summary>The options after the magic cookie; read them with <see cref="DhcpOptionReader"/>.</summary>
    public Span<byte> Options => _buffer[OptionsOffset..];

    /// <summary>chaddr as a MAC address when htype is Ethernet and hlen is 6.</summary>
    public bool TryGetClientMac(out MacAddress mac)
    {
        mac = default;
        if (HardwareType != HardwareTypeEthernet || HardwareAddressLength != MacAddress.Length) return false;
        mac = MacAddress.ReadFrom(ClientHardwareAddress);
        return true;
    }

    /// <summary>The value of option 53 without building a <see cref="DhcpRepr"/>; false when absent, malformed or unknown.</summary>
    public bool TryGetMessageType(out DhcpMessageType type) => DhcpOptionReader.TryGetMessageType(Options, out type);

    /// <summary>
    /// Write the fixed fields and the magic cookie (240 bytes; sname and file zeroed); returns 240.
    /// Options follow at <see cref="OptionsOffset"/>: see <see cref="DhcpOptionWriter"/>.
    /// </summary>
    public static int WriteHeader(Span<byte> destination, BootpOperation operation, uint transactionId, DhcpFlags flags,
        Ipv4Address clientAddress, Ipv4Address yourAddress, Ipv4Address serverAddress, Ipv4Address relayAgentAddress,
        MacAddress clientMac, ushort seconds = 0, byte hops = 0)
    {
        var d = destination[..OptionsOffset];
        d.Clear();
        d[OperationOffset] = (byte)operation;
        d[HardwareTypeOffset] = HardwareTypeEthernet;
        d[HardwareAddressLengthOffset] = MacAddress.Length;
        d[HopsOffset] = hops;
        BinaryPrimitives.WriteUInt32BigEndian(d[TransactionIdOffset..], transactionId);
        BinaryPrimitives.WriteUInt16BigEndian(d[SecondsOffset..], seconds);
        BinaryPrimitives.WriteUInt16BigEndian(d[FlagsOffset..], (ushort)flags);
        clientAddress.WriteTo(d[ClientAddressOffset..]);
        yourAddress.WriteTo(d[YourAddressOffset..]);
        serverAddress.WriteTo(d[ServerAddressOffset..]);
        relayAgentAddress.WriteTo(d[RelayAgentAddressOffset..]);
        clientMac.WriteTo(d[ClientHardwareAddressOffset..]);
        BinaryPrimitives.WriteUInt32BigEndian(d[MagicCookieOffset..], MagicCookie);
        return OptionsOffset;
    }
}
