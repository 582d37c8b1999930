using System.Buffers.Binary;
using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using DataPlane.Host.Capture;
using DataPlane.Host.Configuration;
using DataPlane.Host.Control;
using DataPlane.Wire;

namespace DataPlane.Host.Cli;

/// <summary>
/// `dataplane ctl capture PORT|uplink|home [-w FILE.pcap] [-c COUNT] [--duration D]`: what a port (both
/// directions), the uplink (tunnel and Mobility Header traffic) or the LMA's home side sees, like
/// ovs-tcpdump. The daemon streams copies over the control connection (<see cref="CaptureStream"/>); this
/// writes them as pcap (tshark, Wireshark, tcpdump read it), or prints one line per frame without -w.
/// </summary>
public static class CaptureCommand
{
    public static Command Create(Option<string> socket, Option<bool> json)
    {
        var target = new Argument<string>("target") { Description = "an access port's name (it may attach later), \"uplink\" (tunnel + Mobility Header), or \"home\" (LMA)" };
        var write = new Option<string?>("--write", "-w") { Description = "write a pcap file (\"-\": standard output) instead of printing a line per frame" };
        var count = new Option<long>("--count", "-c") { Description = "stop after this many frames" };
        var duration = new Option<string?>("--duration") { Description = "stop after this long (250ms, 10s, 2m)" };
        var cmd = new Command("capture", "copy the frames a port, the uplink or the home side sees (pcap with -w)") { target, write, count, duration };
        cmd.SetAction((r, ct) => RunAsync(r.GetValue(socket)!, r.GetValue(target)!, r.GetValue(write), r.GetValue(count), r.GetValue(duration), ct));
        return cmd;
    }

    private static async Task<int> RunAsync(string socketPath, string target, string? write, long count, string? durationText, CancellationToken ct)
    {
        TimeSpan? duration = null;
        if (durationText is not null)
        {
            if (!Durations.TryParse(durationText, out var d) || d <= TimeSpan.Zero)
            {
                Console.Error.WriteLine($"dataplane ctl: --duration: \"{durationText}\" is not a duration (250ms, 10s, 2m)");
                return 1;
            }
            duration = d;
        }
        if (count < 0)
        {
            Console.Error.WriteLine("dataplane ctl: --count must be positive");
            return 1;
        }
        var args = new JsonObject { ["target"] = target };
        if (count > 0) args["count"] = count;
        ControlResponse response;
        System.Net.Sockets.Socket connection;
        Stream stream;
        try
        {
            (response, connection, stream) = await ControlClient.OpenStreamAsync(socketPath, new ControlRequest("capture", args), TimeSpan.FromSeconds(10), ct);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or FormatException or System.Text.Json.JsonException)
        {
            Console.Error.WriteLine($"dataplane ctl: {e.Message}");
            return 2;
        }
        using var _ = connection;
        await using var __ = stream;
        if (!response.Ok)
        {
            Console.Error.WriteLine($"dataplane ctl: {response.Error}");
            return 1;
        }
        var linkType = response.Result?["linkType"]?.GetValue<string>() == "raw" ? PcapLinkType.Raw : PcapLinkType.Ethernet;
        bool attached = response.Result?["attached"]?.GetValue<bool>() ?? true;
        Console.Error.WriteLine($"capturing on {target}{(attached ? "" : " (not attached yet: waiting for it)")}, link type {(linkType == PcapLinkType.Raw ? "raw IPv6" : "Ethernet")}" +
            $"{(count > 0 ? $", {count} frames" : "")}{(duration is { } dd ? $", for {Durations.Format(dd)}" : "")}; Ctrl-C or SIGTERM stops");

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (duration is { } limit) stop.CancelAfter(limit);
        // SIGTERM stops it like Ctrl-C: the file is completed and the summary printed. That is what `timeout`,
        // a supervisor or a script sends (and a job started in the background may have SIGINT ignored).
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        Stream? output = write switch
        {
            null => null,
            "-" => Console.OpenStandardOutput(),
            var path => new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read),
        };
        using var pcap = output is null ? null : new PcapWriter(output, linkType);
        long frames = 0;
        JsonNode? last = null;
        string? endReason = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var frame = await CaptureStream.ReadFrameAsync(stream, stop.Token);
                if (frame is not { } f) break;
                switch (f.Kind)
                {
                    case CaptureStream.Record when f.Body.Length >= CaptureStream.RecordHeaderLength:
                        long micros = BinaryPrimitives.ReadInt64LittleEndian(f.Body);
                        var direction = (CaptureDirection)f.Body[8];
                        var data = f.Body.AsSpan(CaptureStream.RecordHeaderLength);
                        if (pcap is not null)
                        {
                            pcap.Write(data, TimeSpan.FromTicks(micros * 10));
                            // Flushed as records come, so a capture killed mid-way still leaves a readable file.
                            if (connection.Available == 0) pcap.Flush();
                        }
                        else
                        {
                            Console.WriteLine(Summary(micros, direction, data, linkType));
                        }
                        frames++;
                        break;
                    case CaptureStream.Progress:
                        last = Parse(f.Body);
                        break;
                    case CaptureStream.End:
                        last = Parse(f.Body);
                        endReason = last?["reason"]?.GetValue<string>();
                        break;
                }
                if (endReason is not null || (count > 0 && frames >= count)) break;
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            Console.Error.WriteLine($"dataplane ctl: capture stream: {e.Message}");
        }
        pcap?.Flush();
        long dropped = last?["dropped"]?.GetValue<long>() ?? 0;
        Console.Error.WriteLine($"{frames} frames captured{(write is null or "-" ? "" : $" to {write}")}" +
            $"{(dropped > 0 ? $", {dropped} dropped by the daemon (the reader was too slow)" : "")}{(endReason is null ? "" : $" ({endReason})")}");
        return 0;
    }

    private static JsonNode? Parse(byte[] body)
    {
        try
        {
            return JsonNode.Parse(Encoding.UTF8.GetString(body));
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>One line per frame, tcpdump-like: time, direction, length, addresses, what it is.</summary>
    public static string Summary(long unixMicros, CaptureDirection direction, ReadOnlySpan<byte> data, PcapLinkType linkType)
    {
        var time = DateTime.UnixEpoch.AddTicks(unixMicros * 10).ToString("HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
        var sb = new StringBuilder(128);
        sb.Append(time).Append(direction == CaptureDirection.Rx ? " rx " : " tx ").Append(data.Length.ToString(CultureInfo.InvariantCulture).PadLeft(5)).Append(' ');
        var copy = data.ToArray().AsSpan();
        if (linkType == PcapLinkType.Ethernet)
        {
            if (!EthernetFrame.TryCreate(copy, out var eth, out _))
            {
                sb.Append("(not an Ethernet frame)");
                return sb.ToString();
            }
            sb.Append(eth.Source).Append(" > ").Append(eth.Destination).Append(' ');
            switch (eth.EtherType)
            {
                case EtherType.Ipv6:
                case EtherType.Ipv4:
                    Ip(sb, eth.Payload);
                    break;
                case EtherType.Arp:
                    Arp(sb, eth.Payload);
                    break;
                case EtherType.Rarp:
                    sb.Append("RARP (migration announce)");
                    break;
                default:
                    sb.Append("ethertype 0x").Append(((ushort)eth.EtherType).ToString("x4", CultureInfo.InvariantCulture));
                    break;
            }
        }
        else
        {
            Ip(sb, copy);
        }
        return sb.ToString();
    }

    private static void Arp(StringBuilder sb, Span<byte> payload)
    {
        if (!ArpPacket.TryCreate(payload, out var arp, out _))
        {
            sb.Append("ARP (malformed)");
            return;
        }
        var r = arp.ToRepr();
        sb.Append(r.Operation switch
        {
            ArpOperation.Request when r.IsGratuitous => $"ARP gratuitous {r.SenderProtocolAddress} (announce)",
            ArpOperation.Request => $"ARP who-has {r.TargetProtocolAddress} tell {r.SenderProtocolAddress}",
            ArpOperation.Reply => $"ARP {r.SenderProtocolAddress} is-at {r.SenderHardwareAddress}",
            var op => $"ARP op {(ushort)op}",
        });
    }

    private static void Ipv4(StringBuilder sb, Span<byte> packet)
    {
        if (!Ipv4Packet.TryCreate(packet, out var ip, out _))
        {
            sb.Append("(malformed IPv4)");
            return;
        }
        sb.Append(ip.Source).Append(" > ").Append(ip.Destination).Append(' ');
        var payload = ip.Payload;
        switch (ip.Protocol)
        {
            case IpProtocol.Icmp when payload.Length > 0 && !ip.IsFragment:
                sb.Append("ICMP ").Append(Enum.IsDefined((Icmpv4Type)payload[0]) ? ((Icmpv4Type)payload[0]).ToString() : payload[0].ToString(CultureInfo.InvariantCulture));
                break;
            case IpProtocol.Udp when !ip.IsFragment && UdpDatagram.TryCreate(payload, out var udp, out _):
                sb.Append(CultureInfo.InvariantCulture, $"UDP {udp.SourcePort} > {udp.DestinationPort}");
                if (udp.SourcePort is 67 or 68 && udp.DestinationPort is 67 or 68 && DhcpRepr.TryParse(udp.Payload, out var dhcp, out _))
                    sb.Append(" DHCP ").Append(dhcp.MessageType);
                break;
            default:
                sb.Append(LabelName(ip.Protocol)).Append(' ').Append(payload.Length.ToString(CultureInfo.InvariantCulture)).Append(" bytes");
                break;
        }
    }

    private static void Ip(StringBuilder sb, Span<byte> packet)
    {
        if (packet.Length > 0 && packet[0] >> 4 == 4)
        {
            Ipv4(sb, packet);
            return;
        }
        if (!Ipv6Packet.TryCreate(packet, out var ip, out _))
        {
            sb.Append("(malformed IPv6)");
            return;
        }
        sb.Append(ip.Source).Append(" > ").Append(ip.Destination).Append(' ');
        var payload = ip.Payload;
        switch (ip.NextHeader)
        {
            case IpProtocol.Icmpv6 when payload.Length > 0:
                sb.Append("ICMPv6 ").Append(Enum.IsDefined((Icmpv6Type)payload[0]) ? ((Icmpv6Type)payload[0]).ToString() : payload[0].ToString(CultureInfo.InvariantCulture));
                break;
            case IpProtocol.Mobility when payload.Length > 2:
                sb.Append("MH ").Append(payload[2] switch { 5 => "PBU", 6 => "PBA", 7 => "Binding Error", 13 => "Heartbeat", var t => $"type {t}" });
                break;
            case IpProtocol.Ipv6:
                sb.Append("IPv6-in-IPv6: ");
                Ip(sb, payload);
                break;
            case IpProtocol.IpInIp:
                sb.Append("IPv4-in-IPv6: ");
                Ip(sb, payload);
                break;
            default:
                sb.Append(LabelName(ip.NextHeader)).Append(' ').Append(payload.Length.ToString(CultureInfo.InvariantCulture)).Append(" bytes");
                break;
        }
    }

    private static string LabelName(IpProtocol p) => Enum.IsDefined(p) ? p.ToString().ToUpperInvariant() : $"proto {(byte)p}";
}
