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
}
