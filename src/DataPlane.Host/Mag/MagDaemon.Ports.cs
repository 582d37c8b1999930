using DataPlane.Datapath;
using DataPlane.Host.Configuration;
using DataPlane.Linux;
using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Mag;

/// <summary>Access ports coming and going (hotplug via the control socket, or vanishing under us).</summary>
public sealed partial class MagDaemon
{
    /// <summary>Attach an interface as an access port. Returns null, or why it could not be attached.</summary>
    /// <summary>
    /// The next free port number, round-robin over 1..MaxPorts−1: a number is used again only after every other one
    /// was, so a host that attaches and detaches VM ports for ever (each migration in is a port add) never runs out
    /// — it did after 4,095 attachments, found by the churn soak — and a number is not reused while a late event for
    /// its previous port could still be around.
    /// </summary>
    private PortId? NextPortId()
    {
        int max = _dp.Options.MaxPorts;
        for (int tries = 1; tries < max; tries++)
        {
            int id = _nextPortId;
            _nextPortId = _nextPortId + 1 >= max ? 1 : _nextPortId + 1;
            if (!_ports.ContainsKey(id) && !IsExpectedId(id)) return new PortId(id);
        }
        return null;
    }

    private string? AddPort(string name, MacAddress? mac, PortKind kind, PortOnlineKind online = PortOnlineKind.AwaitVm)
    {
        if (!InterfaceNames.IsValid(name)) return $"\"{name}\" is not a valid interface name";
        if (_portsByName.ContainsKey(name)) return $"port {name} is already attached";
        var expected = TakeExpected(name, mac, out var expectedError);
        if (expectedError is not null) return expectedError;
        if (mac is { } m && (m.IsMulticast || m.IsZero)) return $"{m} is not a unicast MAC";
        // An expected port already has its number (and its pre-registration) in the data path.
        if ((expected?.Id ?? NextPortId()) is not { } id) return $"cannot attach {name}: all {_dp.Options.MaxPorts - 1} port numbers are in use";
        IPacketPort device;
        try
        {
            device = kind switch
            {
                // vnet_hdr: VMs send TSO super-frames and partial checksums; we complete and cut them (DESIGN.md).
                PortKind.Packet => PacketSocket.Open(name, new PacketSocketOptions { VnetHeader = true, ReceiveBufferBytes = _config.Dataplane.SocketBufferBytes, SendBufferBytes = _config.Dataplane.SocketBufferBytes }),
                _ => TapDevice.Create(new TunTapOptions { Name = name, VnetHeader = true, Up = true }),
            };
        }
        catch (LinuxIoException e)
        {
            if (expected is not null) _expected[name] = expected; // still expected
            return $"cannot attach {name}: {e.Message}";
        }
        mac ??= expected?.Mac;
        var port = new OpenPort(id, name, device, kind, mac, _batchSize) { Captures = _captures.For(name) };
        _ports[id.Value] = port;
        _portsByName[name] = port;
        _epoll.Add(device.Fd, (ulong)id.Value);
        var now = _clock.Now;
        // An expected port is in the data path already (pre-registering): its interface joins it.
        if (expected is null)
        {
            _dp.AddPort(id, name, mac);
            // Plugged in; the VM's first frame registers it unless the caller says it runs here now (see PortOnline).
            _dp.PortOnline(id, now, online);
        }
        AfterBatch(now);
        using var scope = VmScope(null, mac, name);
        _log.LogInformation("port: attached {Port} ({Kind}, VM MAC {Mac}, {Online})", name, kind.ToString().ToLowerInvariant(),
            mac?.ToString() ?? "learned", online switch
            {
                PortOnlineKind.IncomingMigration => "incoming migration: registering on its first frame",
                PortOnlineKind.VmRunning => "VM running: registering now",
                _ => "registering on the VM's first frame",
            });
        return null;
    }

    /// <summary>Detach a port on request (hotplug offline): the VM's session is de-registered at once.</summary>
    private string? DeletePort(string name)
    {
        if (!_portsByName.TryGetValue(name, out var port)) return $"no port {name}";
        var now = _clock.Now;
        using var scope = VmScope(null, VmMacOf(port), name);
        _dp.PortOffline(port.Id, now);
        Close(port, now);
        _log.LogInformation("port: detached {Port}", name);
        return null;
    }

    /// <summary>The interface disappeared (deleted, or moved to another namespace by a migration).</summary>
    private void PortVanished(OpenPort port, Instant now)
    {
        using var scope = VmScope(null, VmMacOf(port), port.Name);
        _log.LogInformation("port: {Port} disappeared ({Errno}); detaching", port.Name, Errno.Name(port.Device.Counters.LastError));
        Close(port, now);
    }

    private MacAddress? VmMacOf(OpenPort port) => _dp.TryGetPort(port.Id, out var view) ? view.VmMac : port.ConfiguredMac;

    private void Close(OpenPort port, Instant now)
    {
        _dp.RemovePort(port.Id, now);
        _epoll.Remove(port.Device.Fd);
        port.Device.Dispose();
        _ports.Remove(port.Id.Value);
        _portsByName.Remove(port.Name);
        AfterBatch(now);
    }
}
