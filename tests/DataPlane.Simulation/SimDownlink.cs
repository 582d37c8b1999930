using System.Buffers.Binary;
using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Simulation;

/// <summary>
/// A numbered downlink stream to one VM (the client's probes, say): every packet is a real IPv6/UDP packet carrying
/// its number, sent from the home network through the LMA's forwarding view (route and second MAG, as the data path
/// has them from the machine's actions) over the downlink's delay to the MAGs, and through each MAG's data path
/// stand-in (<see cref="SimPortData"/>) to the VM. What the VM received, and where every other packet went, is kept,
/// so a test can hold the two against each other exactly.
/// </summary>
public sealed class SimDownlink
{
    private readonly PmipDomain _domain;
    private readonly TimeSpan _interval;
    private bool _running;

    internal SimDownlink(PmipDomain domain, SimVm vm, TimeSpan interval)
    {
        _domain = domain;
        Vm = vm;
        _interval = interval;
    }

    public SimVm Vm { get; }
    public int Sent { get; private set; }
    /// <summary>Numbers the VM received, in the order it received them.</summary>
    public List<int> Received { get; } = [];
    /// <summary>Numbers a MAG handed to a port where the VM was not running (stopped there, or gone): lost with that tap.</summary>
    public HashSet<int> DeliveredToStoppedVm { get; } = [];
    /// <summary>Numbers the LMA had no route for.</summary>
    public HashSet<int> NoRoute { get; } = [];
    /// <summary>Numbers a MAG dropped because the VM on their port had stopped (the source after QEMU's STOP).</summary>
    public HashSet<int> DroppedAtStoppedPort { get; } = [];
    /// <summary>Numbers a MAG had buffered and threw away: the buffer was full (the oldest go), held what came before
    /// the VM without the source's marker, or went with its session.</summary>
    public HashSet<int> DiscardedFromBuffer { get; } = [];
    /// <summary>Numbers that reached a MAG with no session for their destination.</summary>
    public HashSet<int> NoSessionAtMag { get; } = [];

    /// <summary>Where the numbers in <paramref name="numbers"/> went, by reason, for a failure message.</summary>
    public string Explain(IEnumerable<int> numbers)
    {
        var set = numbers.ToHashSet();
        string Part(string name, HashSet<int> s) => $"{name} {set.Count(s.Contains)}";
        return string.Join(", ", Part("to a stopped VM's port", DeliveredToStoppedVm), Part("dropped at a stopped port", DroppedAtStoppedPort),
            Part("discarded from a buffer", DiscardedFromBuffer), Part("no session at the MAG", NoSessionAtMag), Part("no route at the LMA", NoRoute));
    }

    public void Start()
    {
        _running = true;
        _domain.Sim.Schedule(TimeSpan.Zero, Tick);
    }

    public void Stop() => _running = false;

    private void Tick()
    {
        if (!_running) return;
        int n = Sent++;
        if (Vm.Prefix is { } prefix) _domain.Lma.ForwardDownlink(this, n, Packet(prefix, n));
        else NoRoute.Add(n);
        _domain.Sim.Schedule(_interval, Tick);
    }

    private byte[] Packet(Ipv6Prefix prefix, int n)
    {
        var b = new byte[Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength + 8];
        var destination = prefix.WithInterfaceIdentifier(Ipv6Address.InterfaceIdentifierFromMac(Vm.Mac));
        Ipv6Packet.WriteHeader(b, Ipv6Address.Parse("2001:db8:2::10"), destination, IpProtocol.Udp, UdpDatagram.HeaderLength + 8, 63);
        UdpDatagram.WriteHeader(b.AsSpan(Ipv6Packet.HeaderLength), 40000, 7000, 8);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength), n);
        return b;
    }

    internal static int Number(byte[] packet) => BinaryPrimitives.ReadInt32BigEndian(packet.AsSpan(Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength));

    /// <summary>A MAG hands packet <paramref name="packet"/> to the VM's port <paramref name="port"/>.</summary>
    internal void Deliver(SimMag mag, PortId port, byte[] packet)
    {
        int n = Number(packet);
        // The VM reads its port only while it runs there; anything else is lost with the port (a stopped guest's tap).
        if (Vm.Mag == mag && Vm.Port == port && Vm.State == VmState.Running) Received.Add(n);
        else DeliveredToStoppedVm.Add(n);
    }

    /// <summary>Received numbers that came twice or out of order (empty when the stream was delivered correctly).</summary>
    public List<string> OrderViolations()
    {
        var v = new List<string>();
        for (int i = 1; i < Received.Count; i++)
            if (Received[i] <= Received[i - 1]) v.Add($"#{Received[i]} after #{Received[i - 1]}");
        return v;
    }

    /// <summary>Numbers never received.</summary>
    public List<int> Missing(int upTo) => [.. Enumerable.Range(0, upTo).Except(Received)];
}

/// <summary>
/// A MAG's data path for one port, as far as a live migration goes: delivering, holding (pre-registered: a bounded
/// buffer, oldest out first, trimmed by the source's marker, released in order) or dropping (the VM stopped), as
/// <c>MagDatapath</c> does with the machine's actions.
/// </summary>
internal sealed class SimPortData(int capacity)
{
    public enum DeliveryMode { Forwarding, Buffering, Stopped }

    public DeliveryMode Mode;
    public readonly List<(byte[] Packet, bool AfterArrival)> Buffer = [];
    public bool Arrived;
    public byte[]? LastDelivered;
    public int Evicted;

    /// <summary>Buffers <paramref name="packet"/>; returns the oldest packet it pushed out when the buffer was full.</summary>
    public byte[]? Hold(byte[] packet)
    {
        byte[]? evicted = null;
        if (Buffer.Count == capacity)
        {
            evicted = Buffer[0].Packet;
            Buffer.RemoveAt(0);
            Evicted++;
        }
        Buffer.Add((packet, Arrived));
        return evicted;
    }

    public void ApplyMarker(DeliveryMarker marker)
    {
        if (!marker.Delivered) return;
        for (int i = Buffer.Count - 1; i >= 0; i--)
        {
            var identity = DownlinkIdentity.Of(Buffer[i].Packet);
            if (!identity.Holds(marker.Last)) continue;
            Buffer.RemoveRange(0, identity.ExtendsBeyond(marker.Last) ? i : i + 1);
            return;
        }
    }

    public DeliveryMarker Marker => LastDelivered is { } p ? new DeliveryMarker(true, DownlinkIdentity.Of(p)) : DeliveryMarker.None;
}
