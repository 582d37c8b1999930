using System.Diagnostics;
using System.Globalization;
using DataPlane.Linux;
using DataPlane.Wire;

// For each of --rounds alternations: --frames TCPv6 GSO super-frames of 60 KB (gso_size 1388, NEEDS_CSUM), sent on
// one end of a veth pair by AF_PACKET with PACKET_VNET_HDR, once by sendmmsg (the kernel copies each frame into a
// freshly allocated skb) and once through a TPACKET_V2 TX ring (we copy the frame into the ring, the kernel builds the
// skb on the ring's pages). The far end is another namespace that drops them at IPv6 input (not addressed to it): the
// veth hands them over in the sender's own softirq, so the sender's CPU time is the whole cost. Prints CPU µs per
// super-frame (process user+system time over the loop; nothing else runs in this process meanwhile).
int frames = 20000, rounds = 3, batch = 32;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--frames": frames = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine("usage: DataPlane.TxRingProbe [--frames 20000] [--rounds 3]"); return 64;
    }
}
string a = $"txr{Environment.ProcessId}a", b = $"txr{Environment.ProcessId}b";
Run("ip", "netns", "add", a);
Run("ip", "netns", "add", b);
try
{
    Run("ip", "link", "add", "va", "netns", a, "type", "veth", "peer", "name", "vb", "netns", b);
    Run("ip", "-n", a, "link", "set", "va", "up");
    Run("ip", "-n", b, "link", "set", "vb", "up");
    var frame = SuperFrame();
    var vnet = new VirtioNetHeader
    {
        Flags = VirtioNetHeaderFlags.NeedsChecksum, GsoType = VirtioGsoType.TcpV6, GsoSize = 1388,
        HeaderLength = 14 + 40 + 32, CsumStart = 14 + 40, CsumOffset = 16,
    };
    var results = new Dictionary<string, List<double>> { ["sendmmsg"] = [], ["tx ring"] = [] };
    NetworkNamespace.Run(a, () =>
    {
        using var messages = PacketSocket.Open("va", new PacketSocketOptions { VnetHeader = true, Promiscuous = false });
        using var ring = PacketSocket.Open("va", new PacketSocketOptions
        {
            VnetHeader = true, Promiscuous = false, Backend = PacketSocketBackend.RingV2, RingFrames = 64, RingFrameSize = 65536 + 512,
        });
        using var tx = new PacketBatch(batch);
        for (int i = 0; i < batch; i++)
        {
            int slot = tx.Add(frame);
            tx.Meta(slot).Vnet = vnet;
        }
        for (int round = 1; round <= rounds; round++)
        {
            foreach (var (name, socket) in round % 2 == 1 ? new[] { ("sendmmsg", messages), ("tx ring", ring) } : [("tx ring", ring), ("sendmmsg", messages)])
            {
                Send(socket, tx, batch, frames / 10); // warm-up
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                long sent = Send(socket, tx, batch, frames);
                var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
                double us = cpu.TotalMicroseconds / sent;
                results[name].Add(us);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round} {name}: {sent} super-frames, {us:F2} µs CPU each ({socket.Counters.TxErrors} errors)"));
            }
        }
    });
    foreach (var (name, r) in results)
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: mean {r.Average():F2} µs per 60 KB super-frame (min {r.Min():F2}, max {r.Max():F2})"));
    return 0;
}
finally
{
    Run("ip", "netns", "del", a);
    Run("ip", "netns", "del", b);
}

static long Send(PacketSocket socket, PacketBatch tx, int batch, int frames)
{
    long sent = 0;
    while (sent < frames)
    {
        int n = socket.Send(tx, 0, batch);
        if (n == 0) Thread.Yield();
        sent += n;
    }
    return sent;
}

static byte[] SuperFrame()
{
    const int payload = 60_000;
    var src = Ipv6Address.Parse("2001:db8:1::1");
    var dst = Ipv6Address.Parse("2001:db8:2::1");
    var f = new byte[14 + 40 + 32 + payload];
    EthernetFrame.WriteHeader(f, MacAddress.Parse("02:00:00:00:00:0b"), MacAddress.Parse("02:00:00:00:00:0a"), EtherType.Ipv6);
    Ipv6Packet.WriteHeader(f.AsSpan(14), src, dst, IpProtocol.Tcp, 32 + payload, 64);
    TcpSegment.WriteHeader(f.AsSpan(54), 40000, 5201, 1, 1, TcpFlags.Ack, 512, optionsLength: 12);
    f[74] = 1; f[75] = 1; f[76] = 8; f[77] = 10;
    uint pseudo = InternetChecksum.PseudoHeader(src, dst, 32 + payload, 6);
    System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(54 + 16), (ushort)~InternetChecksum.Finish(pseudo));
    return f;
}

static void Run(string file, params string[] args)
{
    var psi = new ProcessStartInfo(file) { RedirectStandardError = true };
    foreach (var x in args) psi.ArgumentList.Add(x);
    using var p = Process.Start(psi)!;
    p.WaitForExit();
}
