using System.Security.Cryptography;
using DataPlane.Wire;

namespace DataPlane.Protocol.Security;

public enum SaDirection : byte
{
    Inbound,
    Outbound,
}

/// <summary>
/// One unidirectional manually keyed SA (RFC 4301 §4.4.2 SAD entry): SPI, peer, transform and key, the sequence
/// counter (outbound) or the anti-replay window (inbound), and its counters. The key material lives in a pinned
/// array, cleared on <see cref="Dispose"/>; AES-GCM keeps one <see cref="AesGcm"/> instance so sealing a packet
/// allocates nothing.
/// </summary>
public sealed class SecurityAssociation : IDisposable
{
    private readonly byte[] _key;
    private readonly AesGcm? _gcm;

    internal SecurityAssociation(SaDirection direction, Ipv6Address peer, uint spi, EspAlgorithm algorithm, ReadOnlySpan<byte> key, string pairName, int replayWindow)
    {
        Direction = direction;
        Peer = peer;
        Spi = spi;
        Algorithm = algorithm;
        PairName = pairName;
        _key = GC.AllocateUninitializedArray<byte>(key.Length, pinned: true);
        key.CopyTo(_key);
        if (algorithm != EspAlgorithm.NullHmacSha256_128)
            _gcm = new AesGcm(_key.AsSpan(0, _key.Length - EspAlgorithms.GcmSaltLength), EspAlgorithms.GcmIcvLength);
        if (direction == SaDirection.Inbound) Window = new AntiReplayWindow(replayWindow);
    }

    public SaDirection Direction { get; }
    public Ipv6Address Peer { get; }
    public uint Spi { get; }
    public EspAlgorithm Algorithm { get; }
    public string PairName { get; }

    public int IcvLength => EspAlgorithms.IcvLength(Algorithm);
    public int IvLength => EspAlgorithms.IvLength(Algorithm);

    /// <summary>Packets sent (outbound) or accepted (inbound) and their ESP bytes.</summary>
    public long Packets { get; internal set; }
    public long Bytes { get; internal set; }
    /// <summary>Inbound: packets whose ICV failed.</summary>
    public long AuthenticationFailures { get; internal set; }
    /// <summary>Inbound: packets refused by the replay window.</summary>
    public long ReplayDrops { get; internal set; }
    public Instant? LastUsed { get; internal set; }

    /// <summary>Outbound: the next sequence number to send (1 on a fresh SA, RFC 4303 §3.3.3); 2^32 when used up.</summary>
    public ulong NextSequence { get; internal set; } = 1;
    /// <summary>Outbound: numbers up to this one may be sent without persisting again (the persisted high-water mark).</summary>
    public uint ReservedThrough { get; internal set; }

    /// <summary>Inbound: the RFC 4303 §3.4.3 window.</summary>
    public AntiReplayWindow? Window { get; }

    /// <summary>The same SA as configured (direction, peer, SPI, transform, key), for carrying state over a reload.</summary>
    internal bool SameAs(SecurityAssociation other) =>
        Direction == other.Direction && Peer == other.Peer && Spi == other.Spi && Algorithm == other.Algorithm
        && CryptographicOperations.FixedTimeEquals(_key, other._key);

    internal void TakeStateFrom(SecurityAssociation old)
    {
        Packets = old.Packets;
        Bytes = old.Bytes;
        AuthenticationFailures = old.AuthenticationFailures;
        ReplayDrops = old.ReplayDrops;
        LastUsed = old.LastUsed;
        NextSequence = old.NextSequence;
        ReservedThrough = old.ReservedThrough;
        if (old.Window is { } w) Window!.Restore(w.Highest);
    }

    /// <summary>
    /// Build the ESP packet for <paramref name="payload"/> into <paramref name="output"/> with sequence number
    /// <paramref name="sequence"/>: header, IV (AES-GCM: <paramref name="iv"/>), payload, default padding to the
    /// 4-byte ICV alignment, Pad Length, Next Header, ICV. Returns its length.
    /// </summary>
    internal int Seal(uint sequence, ulong iv, ReadOnlySpan<byte> payload, byte nextHeader, Span<byte> output)
    {
        int prefix = EspPacket.HeaderLength + IvLength;
        int trailer = EspTrailer.Length(prefix, payload.Length, EspPacket.IcvAlignment);
        int length = prefix + payload.Length + trailer + IcvLength;
        if (output.Length < length) throw new ArgumentException($"needs {length} bytes, has {output.Length}", nameof(output));
        EspPacket.WriteHeader(output, Spi, sequence);
        payload.CopyTo(output[prefix..]);
        EspTrailer.Write(output[(prefix + payload.Length)..], prefix, payload.Length, nextHeader, EspPacket.IcvAlignment);
        var icv = output.Slice(length - IcvLength, IcvLength);
        if (_gcm is null)
        {
            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            HMACSHA256.HashData(_key, output[..(length - IcvLength)], mac);
            mac[..IcvLength].CopyTo(icv);
        }
        else
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(output.Slice(EspPacket.HeaderLength, 8), iv);
            Span<byte> nonce = stackalloc byte[EspAlgorithms.GcmSaltLength + EspAlgorithms.GcmIvLength];
            BuildNonce(output.Slice(EspPacket.HeaderLength, 8), nonce);
            var plaintext = output[prefix..(length - IcvLength)];
            _gcm.Encrypt(nonce, plaintext, plaintext, icv, output[..EspPacket.HeaderLength]);
        }
        return length;
    }

    /// <summary>
    /// Verify (and for AES-GCM decrypt in place) a packet already matched to this SA by SPI. False when the ICV
    /// does not verify; the caller then drops it without looking at the body.
    /// </summary>
    internal bool Open(Span<byte> packet, out Range plaintext)
    {
        plaintext = default;
        if (!EspPacket.TryCreate(packet, IcvLength, out var esp, out _) || esp.Body.Length < IvLength + EspPacket.TrailerLength) return false;
        int prefix = EspPacket.HeaderLength + IvLength;
        int end = packet.Length - IcvLength;
        if (_gcm is null)
        {
            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            HMACSHA256.HashData(_key, esp.Authenticated, mac);
            // RFC 4303 §3.4.4.1 compares "using the comparison rules defined by the algorithm": in constant time,
            // so a forger learns nothing from how long a wrong ICV took.
            if (!CryptographicOperations.FixedTimeEquals(mac[..IcvLength], esp.Icv)) return false;
        }
        else
        {
            Span<byte> nonce = stackalloc byte[EspAlgorithms.GcmSaltLength + EspAlgorithms.GcmIvLength];
            BuildNonce(packet.Slice(EspPacket.HeaderLength, EspAlgorithms.GcmIvLength), nonce);
            var body = packet[prefix..end];
            try
            {
                _gcm.Decrypt(nonce, body, esp.Icv, body, esp.Header);
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }
        }
        plaintext = prefix..end;
        return true;
    }

    /// <summary>RFC 4106 §4: nonce = salt (the last 4 octets of the key material) ‖ the 8-octet explicit IV.</summary>
    private void BuildNonce(ReadOnlySpan<byte> iv, Span<byte> nonce)
    {
        _key.AsSpan(_key.Length - EspAlgorithms.GcmSaltLength).CopyTo(nonce);
        iv.CopyTo(nonce[EspAlgorithms.GcmSaltLength..]);
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_key);
        _gcm?.Dispose();
    }

    public override string ToString() => $"{Direction} SPI {Spi} ({PairName}) {EspAlgorithms.Name(Algorithm)} with {Peer}";
}
