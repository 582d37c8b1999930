using DataPlane.Wire;

namespace DataPlane.Protocol.Lma;

/// <summary>
/// Which IPv4 home addresses of the <see cref="Ipv4HomeNetwork"/> are bound. Every address a binding holds is
/// marked here, whether it came from the pool (ALL_ZERO) or from a profile, so the pool never hands out one
/// that is in use. A mobile node's first choice is a slot from a stable hash of its MN-ID, so a VM that was off
/// long enough for its entry to go, or an LMA that restarted, gives the same address back if nobody took it,
/// as <see cref="HomeNetworkPrefixPoolAllocator"/> does for prefixes.
/// </summary>
/// <remarks>
/// The state is the set of allocated addresses and nothing else (<see cref="AllocatedAddresses"/>,
/// <see cref="TryClaim"/>): a copy elsewhere (a standby, a store) restores it by claiming each one.
/// Addresses a profile reserves for another node (a static address not bound yet) are skipped by dynamic
/// allocation through the caller's predicate, so a policy reload needs no change here.
/// </remarks>
public sealed class Ipv4HomeAddressPool
{
    private readonly Ipv4HomeNetwork _network;
    private readonly SlotBitmap _used;
    private readonly uint _first;

    public Ipv4HomeAddressPool(Ipv4HomeNetwork network)
    {
        network.Validate("Ipv4HomeNetwork");
        _network = network;
        _first = network.Subnet.Address.Value;
        _used = new SlotBitmap((int)network.Subnet.Size);
    }

    public Ipv4HomeNetwork Network => _network;

    /// <summary>Addresses a VM may get: the subnet's hosts minus the default router.</summary>
    public int Capacity => (int)(_network.Subnet.Size - 3);

    public int Allocated => _used.Count;

    public IEnumerable<Ipv4Address> AllocatedAddresses
    {
        get
        {
            for (long i = 0; i < _network.Subnet.Size; i++)
                if (_used.IsUsed((int)i)) yield return new Ipv4Address(_first + (uint)i);
        }
    }

    public bool IsFree(Ipv4Address address) => _network.IsAssignable(address) && !_used.IsUsed(SlotOf(address));

    /// <summary>Take a specific address (a profile's, or one a MAG asks for again after an LMA restart). False if taken or not assignable.</summary>
    public bool TryClaim(Ipv4Address address)
    {
        if (!IsFree(address)) return false;
        _used.Set(SlotOf(address), true);
        return true;
    }

    /// <summary>Allocate, preferring the node's hash slot, then the next free one that <paramref name="skip"/> does not refuse.</summary>
    public bool TryAllocate(string mobileNodeIdentifier, Func<Ipv4Address, bool>? skip, out Ipv4Address address)
    {
        address = default;
        long size = _network.Subnet.Size;
        int start = (int)(SlotBitmap.StableHash(mobileNodeIdentifier) % (ulong)size);
        for (long n = 0; n < size; n++)
        {
            int slot = (int)((start + n) % size);
            var candidate = new Ipv4Address(_first + (uint)slot);
            if (_used.IsUsed(slot) || !_network.IsAssignable(candidate) || (skip is not null && skip(candidate))) continue;
            _used.Set(slot, true);
            address = candidate;
            return true;
        }
        return false;
    }

    public void Release(Ipv4Address address)
    {
        if (_network.Subnet.Contains(address)) _used.Set(SlotOf(address), false);
    }

    /// <summary>Forget every allocation (an LMA stepping down from a shard).</summary>
    public void Clear() => _used.Clear();

    private int SlotOf(Ipv4Address a) => (int)(a.Value - _first);
}
