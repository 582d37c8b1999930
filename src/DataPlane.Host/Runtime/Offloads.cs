using DataPlane.Datapath;
using DataPlane.Linux;

namespace DataPlane.Host.Runtime;

/// <summary>The virtio-net header as the Linux layer reads it, as the data path's mirror of it (same fields).</summary>
public static class Offloads
{
    public static OffloadInfo From(in VirtioNetHeader h) => new()
    {
        Flags = (OffloadFlags)h.Flags,
        GsoType = (GsoType)h.GsoType,
        HeaderLength = h.HeaderLength,
        GsoSize = h.GsoSize,
        ChecksumStart = h.CsumStart,
        ChecksumOffset = h.CsumOffset,
    };

    /// <summary>The data path's descriptor (a coalesced super-frame's) as the header to send with it.</summary>
    public static VirtioNetHeader ToVirtio(in OffloadInfo o) => new()
    {
        Flags = (VirtioNetHeaderFlags)o.Flags,
        GsoType = (VirtioGsoType)o.GsoType,
        HeaderLength = o.HeaderLength,
        GsoSize = o.GsoSize,
        CsumStart = o.ChecksumStart,
        CsumOffset = o.ChecksumOffset,
    };
}
