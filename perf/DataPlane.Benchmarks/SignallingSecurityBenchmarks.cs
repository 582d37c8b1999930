using BenchmarkDotNet.Attributes;
using DataPlane.Protocol;
using DataPlane.Protocol.Security;
using DataPlane.Wire;

namespace DataPlane.Benchmarks;

/// <summary>
/// What ESP costs per Mobility Header (docs/security.md): sealing a PBU and opening it, with HMAC-SHA-256-128 and
/// with AES-128-GCM, beside the baseline of writing and parsing the same PBU in the clear (what every message
/// costs without keys). Must allocate nothing.
/// </summary>
[MemoryDiagnoser]
public class SignallingSecurityBenchmarks
{
    private static readonly Ipv6Address Mag = Ipv6Address.Parse("2001:db8:100::2");
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:100::1");
    private readonly byte[] _mh = new byte[256];
    private readonly byte[] _esp = new byte[256 + SignallingSecurity.MaxOverhead];
    private int _mhLength;
    private BindingUpdate _pbu = null!;
    private SignallingSecurity _hmacMag = null!, _hmacLma = null!, _gcmMag = null!, _gcmLma = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pbu = new BindingUpdate(1, BindingUpdateFlags.Acknowledge | BindingUpdateFlags.HomeRegistration | BindingUpdateFlags.ProxyRegistration, 900)
        {
            Options = new([
                MobileNodeIdentifierOption.ForNai("vm1@example.com"),
                new HomeNetworkPrefixOption(Ipv6Prefix.Parse("2001:db8:1::/64")),
                new HandoffIndicatorOption(HandoffIndicator.AttachmentOverNewInterface),
                new AccessTechnologyTypeOption(AccessTechnologyType.Virtual),
                new TimestampOption(new PmipTimestamp(0x00006553f1008000)),
            ]),
        };
        _mhLength = _pbu.WriteTo(_mh, Mag, Lma);
        (_hmacMag, _hmacLma) = Pair(EspAlgorithm.NullHmacSha256_128);
        (_gcmMag, _gcmLma) = Pair(EspAlgorithm.Aes128Gcm16);
    }

    private static (SignallingSecurity, SignallingSecurity) Pair(EspAlgorithm algorithm)
    {
        int n = EspAlgorithms.KeyMaterialLength(algorithm);
        var up = new byte[n];
        var down = new byte[n];
        new Random(1).NextBytes(up);
        new Random(2).NextBytes(down);
        var mag = new SignallingSecurity(new SignallingSecurityOptions { Peers = [new(Lma, [new("b", algorithm, 0x2001, down, 0x1001, up)])] }, new SplitMix64Random(1));
        var lma = new SignallingSecurity(new SignallingSecurityOptions { Peers = [new(Mag, [new("b", algorithm, 0x1001, up, 0x2001, down)])], Role = SecurityRole.Responder }, new SplitMix64Random(2));
        return (mag, lma);
    }

    [Benchmark(Baseline = true, Description = "PBU in the clear: write + parse")]
    public bool Clear()
    {
        int n = _pbu.WriteTo(_mh, Mag, Lma);
        return MobilityHeader.TryValidate(_mh.AsSpan(0, n), out _, out _);
    }

    [Benchmark(Description = "ESP NULL+HMAC-SHA-256-128: write + seal + open")]
    public bool Hmac() => RoundTrip(_hmacMag, _hmacLma);

    [Benchmark(Description = "ESP AES-128-GCM: write + seal + open")]
    public bool Gcm() => RoundTrip(_gcmMag, _gcmLma);

    private bool RoundTrip(SignallingSecurity mag, SignallingSecurity lma)
    {
        int n = _pbu.WriteTo(_mh, Mag, Lma);
        mag.TryProtect(Lma, _mh.AsSpan(0, n), _esp, Instant.UnixEpoch, out int length);
        mag.MarkPersisted();
        bool ok = lma.Unprotect(Mag, Lma, _esp.AsSpan(0, length), Instant.UnixEpoch, out var payload).Accepted;
        return ok && MobilityHeader.TryValidate(_esp.AsSpan(payload), out _, out _);
    }
}
