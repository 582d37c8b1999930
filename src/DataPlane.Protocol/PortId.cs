namespace DataPlane.Protocol;

/// <summary>
/// An access port of a MAG: one VM interface (Xen vif, QEMU tap, veth). The data path chooses the
/// numbers; the MAG only uses them as keys.
/// </summary>
public readonly record struct PortId(int Value)
{
    public override string ToString() => $"port{Value}";
}
