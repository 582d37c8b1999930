using DataPlane.Datapath;
using DataPlane.Protocol;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Fuzz;

/// <summary>
/// A MAG and an LMA data path with one VM registered on port 1 (its prefix bound at the LMA), fed fuzzed frames at
/// their entry points. The outputs are drained after every input; every 10,000 inputs (and whenever the VM lost
/// its session to a fuzzed message) the pair is built again, so state cannot pile up across a long run.
/// </summary>
public sealed class DatapathHarness
{
    private static readonly Ipv6Address Coa = Ipv6Address.Parse("2001:db8:ffff::2");
    private static readonly Ipv6Address Lma = Ipv6Address.Parse("2001:db8:ffff::1");
    public static readonly MacAddress VmMac = MacAddress.Parse("52:54:00:12:34:56");
    public static readonly Ipv6Prefix Hnp = Ipv6Prefix.Parse("2001:db8:1::/64");
    private static readonly PortId Port = new(1);

    /// <summary>Declared after the addresses it uses: static fields initialise in order.</summary>
    public static readonly DatapathHarness Shared = new();

    private MagDatapath _mag = null!;
    private LmaDatapath _lma = null!;
    private Instant _now;
    private int _runs;
    private readonly byte[] _buffer = new byte[70_000];

    public DatapathHarness() => Build();

    private void Build()
    {
        _now = Instant.FromDateTime(new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc));
        var policy = new InMemoryLmaPolicy();
        policy.SetProfile("vm@fuzz", new LmaMobileNodeProfile([Hnp]));
        _lma = new LmaDatapath(new LocalMobilityAnchor(new LmaOptions { LocalMobilityAnchorAddress = Lma, AuthorizedMags = new HashSet<Ipv6Address> { Coa }, RestartCounter = 1 },
            policy, new SplitMix64Random(3)));
        _mag = new MagDatapath(new MobileAccessGateway(new MagOptions { ProxyCareOfAddress = Coa }, new SplitMix64Random(4)));
        _mag.AddPort(Port, "vif1.0", VmMac);
        _mag.AddPort(new PortId(2), "vif2.0");
        _mag.PortOnline(Port, _now, PortOnlineKind.VmRunning);
        for (int round = 0; round < 10; round++)
        {
            foreach (var r in _mag.HostActions.OfType<MagAction.RequestPolicy>().ToList())
                _mag.Handle(new MagEvent.PolicyDecided(r.RequestId, new VmProfile("vm@fuzz", [Hnp], Lma)), _now);
            _mag.ClearHostActions();
            Carry(_mag.ControlOutput, m => _lma.ReceiveMobilityMessage(m.Bytes, m.Source, m.Destination, _now));
            Carry(_lma.ControlOutput, m => _mag.ReceiveMobilityMessage(m.Bytes, m.Source, m.Destination, _now));
            _lma.ClearHostActions();
        }
        if (_mag.PrefixCount != 1 || _lma.RouteCount != 1) throw new InvalidOperationException("the harness could not register its VM");
        _runs = 0;
    }

    private static void Carry(ControlOutput output, Action<(byte[] Bytes, Ipv6Address Source, Ipv6Address Destination)> deliver)
    {
        var frames = new List<(byte[], Ipv6Address, Ipv6Address)>();
        for (int i = 0; i < output.Count; i++)
            if (output[i].Sink == ControlSink.MobilityHeaderSocket) frames.Add((output.Frame(i).ToArray(), output[i].Source, output[i].Destination));
        output.Clear();
        foreach (var f in frames) deliver(f);
    }

    private void Step()
    {
        _mag.ControlOutput.Clear();
        _mag.Segments.Clear();
        _mag.ClearHostActions();
        _lma.ControlOutput.Clear();
        _lma.Segments.Clear();
        _lma.ClearHostActions();
        if (++_runs >= 10_000 || _mag.PrefixCount == 0) Build();
    }

    /// <summary>The first byte picks the port and the offload metadata (none, partial checksum, TSO v6/v4); the rest is the frame.</summary>
    public void FromPort(byte[] input)
    {
        // Even an empty input reaches the data path: an input that runs no instrumented code at all would make
        // afl's dry run report "no instrumentation detected" and abort.
        byte selector = input.Length > 0 ? input[0] : (byte)0;
        int length = Math.Max(0, input.Length - 1);
        const int headroom = 128;
        if (length > 0) input.AsSpan(1).CopyTo(_buffer.AsSpan(headroom));
        var port = (selector & 1) == 0 ? Port : new PortId(2);
        var offload = ((selector >> 1) & 3) switch
        {
            0 => OffloadInfo.None,
            1 => OffloadInfo.PartialChecksum((ushort)(14 + 40), 16),
            2 => OffloadInfo.TcpSegmentation(GsoType.TcpV6, (ushort)(selector * 8 + 8), 74, 54, 16),
            _ => OffloadInfo.TcpSegmentation(GsoType.TcpV4, (ushort)(selector * 8 + 8), 54, 34, 16),
        };
        _now += TimeSpan.FromMilliseconds(selector);
        _mag.FromPort(port, _buffer, headroom, length, offload, _now);
        Step();
    }

    /// <summary>The first byte picks the path (MAG from the LMA, LMA from the MAG, LMA from the home network); the rest is the packet.</summary>
    public void FromTunnel(byte[] input)
    {
        byte selector = input.Length > 0 ? input[0] : (byte)0;
        int length = Math.Max(0, input.Length - 1);
        const int headroom = 128;
        if (length > 0) input.AsSpan(1).CopyTo(_buffer.AsSpan(headroom));
        _now += TimeSpan.FromMilliseconds(1);
        switch (selector % 3)
        {
            case 0: _mag.FromTunnel(_buffer, headroom, length, Lma, Coa, _now); break;
            case 1: _lma.FromTunnel(_buffer, headroom, length, Coa, Lma, _now); break;
            default: _lma.FromHome(_buffer, headroom, length, _now); break;
        }
        Step();
    }

    /// <summary>
    /// The machines' message handling: the input is a Mobility Header to the LMA (from its MAG) or to the MAG (from
    /// its LMA), by the first byte's low bit; the second byte moves the clock (timers fire in between).
    /// </summary>
    public void Signalling(byte[] input)
    {
        byte direction = input.Length > 0 ? input[0] : (byte)0;
        _now += TimeSpan.FromMilliseconds((input.Length > 1 ? input[1] : 0) * 40);
        var mh = input.AsSpan(Math.Min(2, input.Length));
        if ((direction & 1) == 0) _lma.ReceiveMobilityMessage(mh, Coa, Lma, _now, verifyChecksum: false);
        else _mag.ReceiveMobilityMessage(mh, Lma, Coa, _now, verifyChecksum: false);
        _mag.Tick(_now);
        _lma.Tick(_now);
        Step();
    }
}
