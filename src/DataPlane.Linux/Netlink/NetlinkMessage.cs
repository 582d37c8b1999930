using System.Buffers.Binary;
using System.Text;

namespace DataPlane.Linux.Netlink;

/// <summary>Builds one netlink request: nlmsghdr, the family header, then attributes (host byte order).</summary>
internal ref struct NetlinkRequestWriter
{
    private readonly Span<byte> _buffer;
    private int _length;

    public NetlinkRequestWriter(Span<byte> buffer, ushort type, ushort flags, uint sequence, int familyHeaderLength)
    {
        _buffer = buffer;
        _buffer[..(Rtnl.NlmsgHdrLen + familyHeaderLength)].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer[4..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer[6..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer[8..], sequence);
        _length = Rtnl.NlmsgHdrLen + Rtnl.Align(familyHeaderLength);
    }

    /// <summary>The family header (ifinfomsg, ifaddrmsg, rtmsg) right after nlmsghdr.</summary>
    public readonly Span<byte> FamilyHeader => _buffer[Rtnl.NlmsgHdrLen..];

    public void Add(ushort type, scoped ReadOnlySpan<byte> value)
    {
        int total = Rtnl.NlaHdrLen + value.Length;
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer[_length..], (ushort)total);
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer[(_length + 2)..], type);
        value.CopyTo(_buffer[(_length + Rtnl.NlaHdrLen)..]);
        int padded = Rtnl.Align(total);
        _buffer.Slice(_length + total, padded - total).Clear();
        _length += padded;
    }

    public void AddUInt32(ushort type, uint value)
    {
        Span<byte> v = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(v, value);
        Add(type, v);
    }

    public void AddString(ushort type, string value)
    {
        Span<byte> v = stackalloc byte[value.Length + 1];
        Encoding.ASCII.GetBytes(value, v);
        v[^1] = 0;
        Add(type, v);
    }

    public void AddAddress(ushort type, Wire.Ipv6Address address)
    {
        Span<byte> v = stackalloc byte[16];
        address.WriteTo(v);
        Add(type, v);
    }

    public void AddAddress(ushort type, Wire.Ipv4Address address)
    {
        Span<byte> v = stackalloc byte[4];
        address.WriteTo(v);
        Add(type, v);
    }

    /// <summary>Start a nested attribute (TCA_OPTIONS …); attributes added until <see cref="EndNested"/> go inside it.</summary>
    public int BeginNested(ushort type)
    {
        int at = _length;
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer[(_length + 2)..], (ushort)(type | 0x8000)); // NLA_F_NESTED
        _length += Rtnl.NlaHdrLen;
        return at;
    }

    public void EndNested(int at) => BinaryPrimitives.WriteUInt16LittleEndian(_buffer[at..], (ushort)(_length - at));

    /// <summary>Fill in nlmsg_len and return the request.</summary>
    public ReadOnlySpan<byte> Finish()
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)_length);
        return _buffer[.._length];
    }
}

/// <summary>Walks the attributes (struct nlattr/rtattr) of a message.</summary>
internal ref struct NetlinkAttributeReader
{
    private ReadOnlySpan<byte> _rest;

    public NetlinkAttributeReader(ReadOnlySpan<byte> attributes) => _rest = attributes;

    public ushort Type { get; private set; }
    public ReadOnlySpan<byte> Value { get; private set; }

    public bool MoveNext()
    {
        if (_rest.Length < Rtnl.NlaHdrLen) return false;
        int len = BinaryPrimitives.ReadUInt16LittleEndian(_rest);
        if (len < Rtnl.NlaHdrLen || len > _rest.Length) return false;
        Type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(_rest[2..]) & 0x3FFF); // strip NLA_F_NESTED / NLA_F_NET_BYTEORDER
        Value = _rest[Rtnl.NlaHdrLen..len];
        int next = Math.Min(Rtnl.Align(len), _rest.Length);
        _rest = _rest[next..];
        return true;
    }

    public static string ReadString(ReadOnlySpan<byte> value)
    {
        int nul = value.IndexOf((byte)0);
        return Encoding.ASCII.GetString(nul < 0 ? value : value[..nul]);
    }
}
