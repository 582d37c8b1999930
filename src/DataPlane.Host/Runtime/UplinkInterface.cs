using System.Text.Json.Nodes;
using DataPlane.Linux;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Runtime;

/// <summary>What a packet uplink sets up on each interface a tunnel peer is reached through.</summary>
public sealed record TunnelPathOptions
{
    /// <summary>Send TCP super-frames whole (`dataplane.tunnelOffload`): attach the <see cref="TunnelGsoRelabel"/> program.</summary>
    public bool SuperFrames { get; init; } = true;

    /// <summary>Receive the tunnel on the interface by AF_PACKET with vnet headers, bypassing the kernel's IPv6 input.</summary>
    public bool Receive { get; init; } = true;

    /// <summary>GRO settings for the interface (`dataplane.interfaceGro`); null leaves it as it is.</summary>
    public GroTuningOptions? Gro { get; init; } = new();

    /// <summary>The largest outer packet expected on receive (the interface's MTU is read when the receiver opens).</summary>
    public int ReceiveBufferBytes { get; init; } = 8 * 1024 * 1024;
}

/// <summary>
/// One interface of a packet uplink: the AF_PACKET sender (with vnet headers), the relabel program on its egress when
/// super-frames may leave whole (or why not), the AF_PACKET receiver, and the GRO settings it was given. Opened and
/// closed on the packet loop's thread by <see cref="TunnelUplink"/>.
/// </summary>
public sealed class UplinkInterface : IDisposable
{
    private UplinkInterface(string name, int ifIndex, PacketTunnelSender sender)
    {
        Name = name;
        IfIndex = ifIndex;
        Sender = sender;
    }

    public string Name { get; }
    public int IfIndex { get; }
    public PacketTunnelSender Sender { get; }
    public PacketTunnelReceiver? Receiver { get; private set; }
    public TunnelGsoRelabel? Relabel { get; private set; }
    public InterfaceGroTuning? Gro { get; private set; }

    /// <summary>Why super-frames to the peers behind this interface are cut in userspace (null when they leave whole).</summary>
    public string? SuperFrameFallback { get; private set; }

    /// <summary>Why tunnel packets arriving here go to the raw socket instead (null when the AF_PACKET receiver is open).</summary>
    public string? ReceiverError { get; private set; }

    public bool CarriesSuperFrames => Relabel is not null;

    /// <summary>Open the sender on <paramref name="name"/>, then what <paramref name="path"/> asks for; each part that fails is logged and
    /// left out (the sender alone is enough to send). Throws only when the sender cannot be opened.</summary>
    public static UplinkInterface Open(string name, Ipv6Address local, int socketBufferBytes, TunnelPathOptions path, int maxBatch, ILogger log)
    {
        var sender = PacketTunnelSender.Open(new PacketTunnelOptions
        {
            Interface = name, LocalAddress = local, HopLimit = 64, SendBufferBytes = socketBufferBytes, VnetHeader = true,
        }, maxBatch);
        var i = new UplinkInterface(name, sender.IfIndex, sender);
        try
        {
            i.AttachRelabel(path, log);
            if (path.Receive) i.OpenReceiver(local, path, log);
            if (path.Gro is { } gro && i.Receiver is not null)
            {
                i.Gro = InterfaceGroTuning.Apply(name, i.IfIndex, gro);
                log.LogInformation("uplink: receive offload on {Interface}: {Gro}", name, i.Gro.Describe());
            }
            return i;
        }
        catch
        {
            i.Dispose();
            throw;
        }
    }

    private void AttachRelabel(TunnelPathOptions path, ILogger log)
    {
        if (!path.SuperFrames)
        {
            SuperFrameFallback = "dataplane.tunnelOffload is false";
        }
        else
        {
            try
            {
                Relabel = TunnelGsoRelabel.Attach(IfIndex, Sender.SocketCookie);
            }
            catch (LinuxIoException e)
            {
                // No CAP_BPF / CAP_NET_ADMIN, no BPF or tc in the kernel, a verifier that refuses it (its log is in the message).
                SuperFrameFallback = $"the relabel program could not be attached: {e.Message}";
            }
        }
        if (Relabel is { } r)
            log.LogInformation("uplink: {Interface}: TCP super-frames cross the tunnel whole ({Program}{Stale})", Name, r,
                r.ReplacedStale ? ", replacing one a previous run left behind" : "");
        else
            log.LogWarning("uplink: {Interface}: TCP super-frames are cut in userspace and sent with partial checksums (NEEDS_CSUM): {Reason}", Name, SuperFrameFallback);
    }

    private void OpenReceiver(Ipv6Address local, TunnelPathOptions path, ILogger log)
    {
        var options = new PacketTunnelReceiverOptions
        {
            Interface = Name, LocalAddress = local, VnetHeader = true, Backend = PacketSocketBackend.MessageBatch,
            ReceiveBufferBytes = path.ReceiveBufferBytes,
        };
        try
        {
            Receiver = PacketTunnelReceiver.Open(options);
        }
        catch (LinuxIoException e)
        {
            // The tc filter that keeps the kernel's own input off our packets is a BPF program too. Without it the
            // receiver still sees each packet first, with its offload metadata; the raw socket gets a copy, which the
            // daemon discards (a partial checksum or a super-frame would reach it without the metadata to read it by).
            BypassError = e.Message;
            try
            {
                Receiver = PacketTunnelReceiver.Open(options with { BypassKernelInput = false });
            }
            catch (LinuxIoException again)
            {
                ReceiverError = again.Message;
                log.LogWarning("uplink: {Interface}: tunnel packets arriving here stay on the raw socket (no offload metadata): {Error}", Name, again.Message);
                return;
            }
            log.LogWarning("uplink: {Interface}: the kernel's IPv6 input is not bypassed ({Error}): it also delivers each tunnel packet to the raw socket, whose copies are discarded", Name, e.Message);
        }
        log.LogInformation("uplink: {Receiver}", Receiver);
    }

    /// <summary>Why the receiver could not keep the kernel's input off the tunnel packets (null when it does, or there is no receiver).</summary>
    public string? BypassError { get; private set; }

    /// <summary>The raw socket also gets what arrives here (the receiver has no bypass): its copies are to be discarded.</summary>
    public bool RawCopiesArrive => Receiver is { BypassesKernelInput: false };

    /// <summary>For `ctl stats`: what this interface does for the tunnel, and its receive counters.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["interface"] = Name,
            ["superFrames"] = CarriesSuperFrames,
            ["relabel"] = Relabel is { } r ? (r.Attachment == RelabelAttachment.Tcx ? "tcx" : "clsact") : null,
            ["superFrameFallback"] = SuperFrameFallback,
            ["receiver"] = Receiver is not null,
            ["receiverError"] = ReceiverError,
            ["kernelInputBypassed"] = Receiver?.BypassesKernelInput ?? false,
            ["bypassError"] = BypassError,
        };
        if (Receiver is { } rx)
        {
            o["rxPackets"] = rx.Counters.RxPackets;
            o["rxSuperFrames"] = rx.SuperFrames;
            o["rxMalformed"] = rx.Malformed;
            o["rxKernelDrops"] = rx.KernelDrops;
        }
        if (Gro is { } g)
        {
            o["gro"] = g.GroActive;
            o["groFlushTimeoutNs"] = g.FlushTimeoutNanoseconds;
            o["groChanged"] = new JsonArray([.. g.Changes.Select(c => (JsonNode)JsonValue.Create(c))]);
            o["groNotSet"] = new JsonArray([.. g.Failures.Select(c => (JsonNode)JsonValue.Create(c))]);
        }
        return o;
    }

    /// <summary>Everything off again: the receiver (and its ingress filter), the relabel program, the GRO settings as they were.</summary>
    public void Dispose()
    {
        Receiver?.Dispose();
        Relabel?.Dispose();
        Gro?.Dispose();
        Sender.Dispose();
    }
}
