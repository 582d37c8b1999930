using DataPlane.Host.Configuration;
using DataPlane.Linux;

namespace DataPlane.Host.Runtime;

/// <summary>The `dataplane` section's tunnel settings as the uplink's per-interface options.</summary>
public static class TunnelPath
{
    public static TunnelPathOptions For(DataplaneConfig tuning) => new()
    {
        SuperFrames = tuning.Uplink == UplinkKind.Packet && tuning.TunnelOffload,
        Receive = tuning.Uplink == UplinkKind.Packet,
        Gro = tuning.Uplink == UplinkKind.Packet && tuning.InterfaceGro
            ? new GroTuningOptions { FlushTimeoutNanoseconds = tuning.GroFlushTimeoutMicroseconds * 1000L }
            : null,
        ReceiveBufferBytes = tuning.SocketBufferBytes,
    };
}
