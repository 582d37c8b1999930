using System.Buffers.Binary;
using DataPlane.Host.Capture;
using DataPlane.Wire;

namespace DataPlane.Host.Tests;

/// <summary>The capture path without a daemon: the loop's ring, the stream to the client, and what the client writes.</summary>
public class CaptureTests
{
    [Fact]
    public void The_ring_hands_records_over_in_order_and_drops_when_full_without_blocking()
    {
        var ring = new CaptureRing(1 << 16);
        var frame = new byte[1000];
        int written = 0;
        while (ring.TryWrite(written, CaptureDirection.Rx, frame)) written++;
        Assert.InRange(written, 60, 66); // 64 KiB of 1016-byte records
        Assert.Equal(1, ring.Dropped);
        Assert.Equal(written, ring.Written);
        for (int i = 0; i < written; i++)
        {
            Assert.True(ring.TryRead(out var r));
            Assert.Equal(i, r.UnixMicros);
            Assert.Equal(1000, r.Data.Count);
            ring.Release();
        }
        Assert.False(ring.TryRead(out _));
    }

    [Fact]
    public void Records_wrap_around_the_end_of_the_ring_intact()
    {
        var ring = new CaptureRing(1 << 16);
        var rng = new Random(3);
        long next = 0, expected = 0;
        for (int round = 0; round < 2000; round++)
        {
            // Odd sizes so records straddle the end at every possible offset.
            int size = rng.Next(1, 3000);
            var data = new byte[size];
            data[size - 1] = (byte)next;
            if (ring.TryWrite(next, CaptureDirection.Tx, data.AsSpan(0, size / 2), data.AsSpan(size / 2))) next++;
            if (rng.Next(3) == 0)
            {
                while (ring.TryRead(out var r))
                {
                    Assert.Equal(expected, r.UnixMicros);
                    Assert.Equal((byte)expected, r.Data[^1]);
                    Assert.Equal(CaptureDirection.Tx, r.Direction);
                    ring.Release();
                    expected++;
                }
            }
        }
        while (ring.TryRead(out var r))
        {
            Assert.Equal(expected++, r.UnixMicros);
            ring.Release();
        }
        Assert.Equal(next, expected);
    }

    [Fact]
    public async Task One_producer_and_one_consumer_on_different_threads_agree()
    {
        var ring = new CaptureRing(1 << 16);
        const int total = 200_000;
        long accepted = 0;
        var producer = new Thread(() =>
        {
            var payload = new byte[64];
            for (int i = 0; i < total; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(payload, i);
                if (ring.TryWrite(i, CaptureDirection.Rx, payload)) accepted++;
            }
        });
        long seen = 0, last = -1;
        bool done = false;
        var consumer = Task.Run(() =>
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                bool finished = Volatile.Read(ref done);
                if (!ring.TryRead(out var r))
                {
                    if (finished) break;
                    Thread.Yield();
                    continue;
                }
                int value = BinaryPrimitives.ReadInt32LittleEndian(r.Data);
                Assert.Equal(r.UnixMicros, value);
                Assert.True(value > last, "records in order");
                last = value;
                ring.Release();
                seen++;
            }
        });
        producer.Start();
        producer.Join();
        Volatile.Write(ref done, true);
        await consumer;
        Assert.Equal(accepted, seen);
        Assert.Equal(total, accepted + ring.Dropped);
    }

    [Fact]
    public async Task The_stream_carries_records_and_ends_at_the_count()
    {
        var tap = new CaptureTap("vif1.0", PcapLinkType.Ethernet, CaptureTap.DefaultRingBytes);
        for (int i = 0; i < 5; i++) Taps.Frame([tap], new byte[] { 1, 2, 3, (byte)i }, i % 2 == 0 ? CaptureDirection.Rx : CaptureDirection.Tx, 1_000_000 + i);
        var sent = new MemoryStream();
        await CaptureStream.PumpAsync(tap, sent, null, maxRecords: 3, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        var reader = new MemoryStream(sent.ToArray());
        var frames = new List<(byte Kind, byte[] Body)>();
        while (await CaptureStream.ReadFrameAsync(reader, CancellationToken.None) is { } f) frames.Add(f);
        Assert.Equal(4, frames.Count);
        Assert.All(frames.Take(3), f => Assert.Equal(CaptureStream.Record, f.Kind));
        Assert.Equal(1_000_002, BinaryPrimitives.ReadInt64LittleEndian(frames[2].Body));
        Assert.Equal((byte)CaptureDirection.Rx, frames[2].Body[8]);
        Assert.Equal(new byte[] { 1, 2, 3, 2 }, frames[2].Body[9..]);
        Assert.Equal(CaptureStream.End, frames[3].Kind);
        Assert.Contains("count reached", System.Text.Encoding.UTF8.GetString(frames[3].Body));
    }

    [Fact]
    public async Task A_streaming_command_gets_the_connection_after_its_answer_line_and_ends_when_the_client_leaves()
    {
        var dir = Directory.CreateTempSubdirectory("dp-stream-");
        var path = Path.Combine(dir.FullName, "ctl.sock");
        var ended = new TaskCompletionSource();
        var server = new Control.ControlServer(path, (req, _) => Task.FromResult(Control.ControlResponse.Success(new System.Text.Json.Nodes.JsonObject { ["linkType"] = "ethernet" }) with
        {
            Continuation = async (stream, socket, ct) =>
            {
                // Bytes right behind the answer line must reach the client intact.
                await stream.WriteAsync(new byte[] { CaptureStream.Progress, 2, 0, 0, 0, (byte)'{', (byte)'}' }, ct);
                await stream.FlushAsync(ct);
                while (!ct.IsCancellationRequested && !(socket.Poll(0, System.Net.Sockets.SelectMode.SelectRead) && socket.Available == 0)) await Task.Delay(10, ct);
                ended.SetResult();
            },
        }), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        server.Start();
        try
        {
            var (response, socket, stream) = await Control.ControlClient.OpenStreamAsync(path, new Control.ControlRequest("capture", []), TimeSpan.FromSeconds(5), CancellationToken.None);
            Assert.True(response.Ok);
            Assert.Equal("ethernet", response.Result!["linkType"]!.GetValue<string>());
            var frame = await CaptureStream.ReadFrameAsync(stream, CancellationToken.None);
            Assert.Equal(CaptureStream.Progress, frame!.Value.Kind);
            Assert.Equal("{}", System.Text.Encoding.UTF8.GetString(frame.Value.Body));
            stream.Dispose();
            socket.Dispose();
            await ended.Task.WaitAsync(TimeSpan.FromSeconds(5)); // the daemon side notices the client left
        }
        finally
        {
            await server.DisposeAsync();
            dir.Delete(true);
        }
    }

    [Fact]
    public void Uplink_records_get_a_synthesized_ipv6_header_with_the_real_addresses()
    {
        var tap = new CaptureTap("uplink", PcapLinkType.Raw, CaptureTap.DefaultRingBytes);
        var source = Ipv6Address.Parse("2001:db8:100:1::2");
        var destination = Ipv6Address.Parse("2001:db8:100::1");
        var mh = new byte[] { 59, 0, 13, 0, 0, 0, 0, 0 };
        Taps.Ipv6([tap], source, destination, IpProtocol.Mobility, mh, CaptureDirection.Tx, 42);
        Assert.True(tap.Ring.TryRead(out var r));
        var bytes = r.Data.ToArray();
        Assert.True(Ipv6Packet.TryCreate(bytes, out var ip, out _));
        Assert.Equal(source, ip.Source);
        Assert.Equal(destination, ip.Destination);
        Assert.Equal(IpProtocol.Mobility, ip.NextHeader);
        Assert.Equal(mh, ip.Payload.ToArray());
    }

    [Fact]
    public void The_summary_line_says_what_a_frame_is()
    {
        // An RA from the shared router addresses to a VM (Ethernet), as a capture without -w prints it.
        var frame = new byte[14 + 40 + 16];
        EthernetFrame.WriteHeader(frame, MacAddress.Parse("52:54:00:00:00:01"), MacAddress.Parse("00:00:5e:00:52:13"), EtherType.Ipv6);
        Ipv6Packet.WriteHeader(frame.AsSpan(14), Ipv6Address.Parse("fe80::200:5eff:fe00:5213"), Ipv6Address.Parse("fe80::5054:ff:fe00:1"), IpProtocol.Icmpv6, 16, 255);
        frame[54] = 134;
        var line = Cli.CaptureCommand.Summary(0, CaptureDirection.Tx, frame, PcapLinkType.Ethernet);
        Assert.Contains(" tx ", line);
        Assert.Contains("00:00:5e:00:52:13 > 52:54:00:00:00:01", line);
        Assert.Contains("ICMPv6 RouterAdvertisement", line);
    }

    [Fact]
    public void The_summary_line_says_what_an_ipv4_frame_or_an_arp_is()
    {
        var vm = MacAddress.Parse("52:54:00:00:00:01");
        var router = MacAddress.Parse("00:00:5e:00:52:13");
        var arp = new byte[60];
        EthernetFrame.WriteHeader(arp, MacAddress.Broadcast, vm, EtherType.Arp);
        new ArpRepr(ArpOperation.Request, vm, Ipv4Address.Parse("10.200.0.7"), default, Ipv4Address.Parse("10.200.0.1")).WriteTo(arp.AsSpan(14));
        Assert.Contains("ARP who-has 10.200.0.1 tell 10.200.0.7", Cli.CaptureCommand.Summary(0, CaptureDirection.Rx, arp, PcapLinkType.Ethernet));
        new ArpRepr(ArpOperation.Request, vm, Ipv4Address.Parse("10.200.0.7"), default, Ipv4Address.Parse("10.200.0.7")).WriteTo(arp.AsSpan(14));
        Assert.Contains("ARP gratuitous 10.200.0.7", Cli.CaptureCommand.Summary(0, CaptureDirection.Rx, arp, PcapLinkType.Ethernet));

        // An echo request from the VM, and the same packet as the uplink capture shows it inside IPv6 (next header 4).
        var echo = new byte[20 + 8];
        Icmpv4Packet.WriteEcho(echo.AsSpan(20), Icmpv4Type.EchoRequest, 1, 1, []);
        Ipv4Packet.WriteHeader(echo, Ipv4Address.Parse("10.200.0.7"), Ipv4Address.Parse("198.51.100.10"), IpProtocol.Icmp, 8);
        var frame = new byte[14 + echo.Length];
        EthernetFrame.WriteHeader(frame, router, vm, EtherType.Ipv4);
        echo.CopyTo(frame, 14);
        Assert.Contains("10.200.0.7 > 198.51.100.10 ICMP EchoRequest", Cli.CaptureCommand.Summary(0, CaptureDirection.Rx, frame, PcapLinkType.Ethernet));
        var tunnelled = new byte[40 + echo.Length];
        Ipv6Packet.WriteHeader(tunnelled, Ipv6Address.Parse("2001:db8:100:1::2"), Ipv6Address.Parse("2001:db8:100::1"), IpProtocol.IpInIp, echo.Length, 64);
        echo.CopyTo(tunnelled, 40);
        Assert.Contains("IPv4-in-IPv6: 10.200.0.7 > 198.51.100.10 ICMP EchoRequest", Cli.CaptureCommand.Summary(0, CaptureDirection.Tx, tunnelled, PcapLinkType.Raw));
    }
}
