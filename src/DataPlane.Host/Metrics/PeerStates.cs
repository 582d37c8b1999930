using DataPlane.Wire;

namespace DataPlane.Host.Metrics;

/// <summary>
/// Heartbeat state per peer (the MAG's LMAs, the LMA's MAGs) as the machine's notifications report it, owned by
/// the packet loop: a peer is reachable until a PeerUnreachable says otherwise, and again after PeerReachable.
/// </summary>
public sealed class PeerStates
{
    private readonly Dictionary<Ipv6Address, Peer> _peers = [];

    public IEnumerable<Peer> Peers => _peers.Values;

    public void Known(Ipv6Address address) => Get(address);

    public void Unreachable(Ipv6Address address) => Get(address).Reachable = false;

    public void Reachable(Ipv6Address address) => Get(address).Reachable = true;

    public void Restarted(Ipv6Address address) => Get(address).Restarts++;

    public bool IsReachable(Ipv6Address address) => !_peers.TryGetValue(address, out var p) || p.Reachable;

    private Peer Get(Ipv6Address address)
    {
        if (!_peers.TryGetValue(address, out var p)) _peers.Add(address, p = new Peer(address));
        return p;
    }

    public sealed class Peer(Ipv6Address address)
    {
        public Ipv6Address Address { get; } = address;
        public string Text { get; } = address.ToString();
        public string[] Labels { get; } = [address.ToString()];
        public bool Reachable { get; set; } = true;
        public long Restarts { get; set; }
    }
}
