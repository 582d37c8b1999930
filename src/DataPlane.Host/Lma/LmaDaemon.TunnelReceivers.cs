using DataPlane.Linux;

namespace DataPlane.Host.Lma;

/// <summary>
/// The AF_PACKET tunnel receivers the packet uplink opens on the interfaces the MAGs are reached through
/// (`dataplane.uplink: "packet"`): each is polled beside the raw socket, which keeps receiving what arrives elsewhere.
/// </summary>
public sealed partial class LmaDaemon
{
    /// <summary>Epoll tokens of the receivers: <see cref="ReceiverTokenBase"/> + their index.</summary>
    private const ulong ReceiverTokenBase = 1024;

    private readonly List<Func<PacketBatch, int>> _tunnelReceivers = [];

    /// <summary>On the loop thread, while the uplink refreshes: poll the new receiver from now on.</summary>
    private void AddTunnelReceiver(PacketTunnelReceiver receiver)
    {
        _epoll.Add(receiver.Fd, ReceiverTokenBase + (ulong)_tunnelReceivers.Count);
        _tunnelReceivers.Add(receiver.Receive);
    }

    private bool TryReceiveFromTunnelReceiver(ulong token, Protocol.Instant now)
    {
        if (token < ReceiverTokenBase || token >= ReceiverTokenBase + (ulong)_tunnelReceivers.Count) return false;
        ReceiveTunnel(_tunnelReceivers[(int)(token - ReceiverTokenBase)], now);
        return true;
    }
}
