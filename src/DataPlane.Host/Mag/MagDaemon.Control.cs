using System.Text.Json.Nodes;
using DataPlane.Datapath;
using DataPlane.Host.Configuration;
using DataPlane.Host.Control;
using DataPlane.Host.Runtime;
using DataPlane.Linux;
using DataPlane.Protocol;
using DataPlane.Protocol.Mag;
using DataPlane.Wire;

namespace DataPlane.Host.Mag;

/// <summary>The MAG's control commands. Each runs on the packet loop thread, between batches.</summary>
public sealed partial class MagDaemon
{
    public Task<ControlResponse> HandleControlAsync(ControlRequest request, CancellationToken ct) => request.Command switch
    {
        "port.add" => OnLoop(() => PortAdd(request)),
        "port.del" => OnLoop(() => request.String("name") is { } n
            ? (DeleteExpected(n) ? ControlResponse.Success() : DeletePort(n) is { } e ? ControlResponse.Failure(e) : ControlResponse.Success())
            : ControlResponse.Failure("port.del: missing name")),
        "port.expect" => OnLoop(() => PortExpect(request)),
        "port.stopped" => OnLoop(() => PortStoppedCommand(request)),
        "port.resumed" => OnLoop(() => PortResumedCommand(request)),
        "ports" => OnLoop(() => ControlResponse.Success(PortsJson())),
        "sessions" => OnLoop(() => ControlResponse.Success(SessionsJson())),
        "bindings" => OnLoop(() => ControlResponse.Success(BindingsJson())),
        "tunnels" => OnLoop(() => ControlResponse.Success(TunnelsJson())),
        "stats" => OnLoop(() => ControlResponse.Success(StatsJson())),
        "vms" => OnLoop(() => ControlResponse.Success(VmsJson())),
        "routes" => OnLoop(() => ControlResponse.Success(RoutesJson())),
        "capture" => OnLoop(() => StartCapture(request)),
        "policy.reload" => Task.FromResult(_policy.Reload() is { } error ? ControlResponse.Failure(error) : ControlResponse.Success()),
        "sas" => OnLoop(() => ControlResponse.Success(SecureSignalling.SasJson(_dp.Security, _clock.Now))),
        "sas.reload" => OnLoop(() => _secure is null ? ControlResponse.Failure("sas.reload: no signalling keys are configured (the security section; a restart turns them on)")
            : _secure.Reload() is { } error ? ControlResponse.Failure(error) : ControlResponse.Success()),
        _ => Task.FromResult(ControlResponse.Failure(
            $"unknown command \"{request.Command}\" (MAG commands: port.add, port.del, port.expect, port.stopped, port.resumed, ports, sessions, bindings, tunnels, stats, vms, routes, capture, policy.reload, sas, sas.reload)")),
    };

    /// <summary>`policy.security`: the signalling policy's counters beside the policy store's.</summary>
    private JsonObject WithSecurity(JsonObject policy)
    {
        policy["security"] = SecureSignalling.StatsJson(_dp.Security);
        return policy;
    }

    private ControlResponse PortAdd(ControlRequest r)
    {
        var name = r.String("name");
        if (name is null) return ControlResponse.Failure("port.add: missing name");
        MacAddress? mac = null;
        if (r.String("mac") is { } m)
        {
            if (!MacAddress.TryParse(m, out var parsed)) return ControlResponse.Failure($"port.add: \"{m}\" is not a MAC address");
            mac = parsed;
        }
        var kind = r.String("kind") switch
        {
            null or "packet" => PortKind.Packet,
            "tap" => PortKind.Tap,
            var k => (PortKind?)null,
        };
        if (kind is null) return ControlResponse.Failure($"port.add: kind \"{r.String("kind")}\" is not packet or tap");
        bool Flag(string key) => r.Args[key] is JsonValue v && v.TryGetValue(out bool b) && b;
        if (Flag("incoming") && Flag("now")) return ControlResponse.Failure("port.add: incoming and now exclude each other");
        var online = Flag("incoming") ? PortOnlineKind.IncomingMigration : Flag("now") ? PortOnlineKind.VmRunning : PortOnlineKind.AwaitVm;
        var error = AddPort(name, mac, kind.Value, online);
        return error is null ? ControlResponse.Success(new JsonObject { ["name"] = name }) : ControlResponse.Failure(error);
    }

    private JsonArray PortsJson()
    {
        var now = _clock.Now;
        var list = new JsonArray();
        foreach (var p in _ports.Values.OrderBy(p => p.Id.Value))
        {
            var o = new JsonObject
            {
                ["name"] = p.Name,
                ["kind"] = p.Kind.ToString().ToLowerInvariant(),
                ["link"] = p.Device.LinkState.ToString().ToLowerInvariant(),
            };
            if (_dp.TryGetPort(p.Id, out var view))
            {
                o["vmMac"] = view.VmMac?.ToString();
                o["hnp"] = Strings(view.HomeNetworkPrefixes);
                o["ipv4"] = view.Ipv4 is { } a ? $"{a.HomeAddress}/{a.PrefixLength}" : null;
            }
            if (_dp.Machine.TryGetSession(p.Id, out var s))
            {
                o["session"] = s.State.ToString();
                o["nai"] = s.MobileNodeIdentifier;
            }
            else
            {
                o["session"] = "none";
            }
            if (view.Counters is { } c)
            {
                o["rxPackets"] = c.InPackets;
                o["txPackets"] = c.OutPackets;
                o["drops"] = c.DroppedTotal;
                var byReason = new JsonObject();
                foreach (var (reason, n) in ((DataPlane.Protocol.ILabeledCounter)c.Drops).NonZeroByName()) byReason[reason] = n;
                o["dropsByReason"] = byReason;
            }
            o["ageSeconds"] = (long)(DateTime.UtcNow - p.AttachedAt).TotalSeconds;
            o["captures"] = p.Captures?.Length ?? 0;
            if (HandoverJson(p.Id) is { } handover) o["handover"] = handover;
            list.Add((JsonNode)o);
        }
        foreach (var (name, e) in _expected.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var o = new JsonObject { ["name"] = name, ["kind"] = "expected", ["link"] = "absent", ["vmMac"] = e.Mac.ToString() };
            o["session"] = _dp.Machine.TryGetSession(e.Id, out var s) ? s.State.ToString() : "none";
            if (HandoverJson(e.Id) is { } handover) o["handover"] = handover;
            o["ageSeconds"] = (long)(DateTime.UtcNow - e.Since).TotalSeconds;
            list.Add((JsonNode)o);
        }
        return list;
    }

    private JsonArray SessionsJson()
    {
        var now = _clock.Now;
        var list = new JsonArray();
        foreach (var s in _dp.Machine.Sessions.OrderBy(s => s.Port.Value))
        {
            list.Add((JsonNode)AddVmHistory(s.Mac, now, new JsonObject
            {
                ["port"] = PortName(s.Port),
                ["mac"] = s.Mac.ToString(),
                ["nai"] = s.MobileNodeIdentifier,
                ["state"] = s.State.ToString(),
                ["trigger"] = s.Trigger.ToString(),
                ["hnp"] = Strings(s.HomeNetworkPrefixes),
                ["ipv4"] = s.Ipv4 is { } a ? $"{a.HomeAddress}/{a.PrefixLength}" : null,
                ["ipv4DefaultRouter"] = s.Ipv4?.DefaultRouter.ToString(),
                ["lma"] = s.LocalMobilityAnchor?.ToString(),
                ["vmLinkLocal"] = s.VmLinkLocal?.ToString(),
                ["forwarding"] = s.ForwardingInstalled,
                ["migration"] = s.Migration == MigrationPhase.None ? null : s.Migration.ToString(),
                ["expiresInSeconds"] = s.BindingExpiresAt is { } e ? (long)(e - now).TotalSeconds : null,
            }));
        }
        return list;
    }

    private JsonArray BindingsJson()
    {
        var now = _clock.Now;
        var list = new JsonArray();
        foreach (var b in _dp.Machine.BindingUpdateList.OrderBy(b => b.MobileNodeIdentifier, StringComparer.Ordinal))
        {
            list.Add((JsonNode)new JsonObject
            {
                ["nai"] = b.MobileNodeIdentifier,
                ["lma"] = b.LocalMobilityAnchor.ToString(),
                ["hnp"] = Strings(b.HomeNetworkPrefixes),
                ["ipv4"] = b.Ipv4 is { } a ? $"{a.HomeAddress}/{a.PrefixLength}" : null,
                ["registered"] = b.Registered,
                ["pending"] = b.PendingTransaction?.ToString(),
                ["expiresInSeconds"] = b.BindingExpiresAt is { } e ? (long)(e - now).TotalSeconds : null,
                ["port"] = b.Port is { } p ? PortName(p) : null,
            });
        }
        return list;
    }

    private JsonArray TunnelsJson()
    {
        var list = new JsonArray();
        foreach (var (lma, c) in _dp.TunnelCounters)
        {
            list.Add((JsonNode)new JsonObject
            {
                ["lma"] = lma.ToString(),
                // A peer that is not an LMA of ours is another MAG, reached over an RFC 6705 direct route.
                ["direct"] = _dp.Machine.LocalizedRoutes.Any(r => r.RemoteMag == lma),
                ["inPackets"] = c.InPackets,
                ["inBytes"] = c.InBytes,
                ["outPackets"] = c.OutPackets,
                ["outBytes"] = c.OutBytes,
                ["drops"] = c.DroppedTotal,
            });
        }
        return list;
    }

    /// <summary>`routes`: the RFC 6705 direct routes (which VM, towards whose prefixes, via which MAG, whether we send on it yet, its tunnel's counters).</summary>
    private JsonArray RoutesJson()
    {
        var now = _clock.Now;
        var list = new JsonArray();
        foreach (var r in _dp.Machine.LocalizedRoutes.OrderBy(r => r.RouteId))
        {
            _dp.TunnelCounters.TryGetValue(r.RemoteMag, out var c);
            list.Add((JsonNode)new JsonObject
            {
                ["port"] = PortName(r.Port),
                ["nai"] = r.LocalMobileNodeIdentifier,
                ["remoteNai"] = r.RemoteMobileNodeIdentifier,
                ["remotePrefixes"] = Strings(r.RemotePrefixes),
                ["remoteIpv4"] = r.RemoteIpv4HomeAddress?.ToString(),
                ["remoteMag"] = r.RemoteMag.ToString(),
                ["lma"] = r.LocalMobilityAnchor.ToString(),
                ["egress"] = r.Egress,
                ["expiresInSeconds"] = (long)(r.ExpiresAt - now).TotalSeconds,
                ["lastUsedSecondsAgo"] = r.LastUsedAt is { } u ? (long)(now - u).TotalSeconds : null,
                ["tunnelOutPackets"] = c?.OutPackets ?? 0,
                ["tunnelInPackets"] = c?.InPackets ?? 0,
            });
        }
        return list;
    }

    private JsonObject StatsJson() => new()
    {
        ["protocol"] = CounterJson.ToJson(_dp.Machine.Counters),
        ["datapath"] = CounterJson.ToJson(_dp.Counters),
        ["sessions"] = _dp.Machine.SessionCount,
        ["bindingUpdateList"] = _dp.Machine.BindingUpdateListCount,
        ["ports"] = _ports.Count,
        ["uplink"] = _tunnelUplink.ToJson(),
        ["tunnelSocket"] = SocketJson(_tunnel.Counters),
        ["ipv4TunnelSocket"] = SocketJson(_tunnel4.Counters),
        ["ipv4Tunnel"] = Ipv4TunnelJson(_ipv4Sink, _dp.VmIpv4Counters.Values.Sum(c => c.OutPackets)),
        ["mobilitySocket"] = SocketJson(_mobility.Counters),
        ["policy"] = WithSecurity(_policy.Counters.ToJson()),
        ["process"] = ProcessStats.ToJson(),
        ["vmsTracked"] = _vms.Count,
        ["vmCounters"] = _dp.VmCounters.Count,
        ["localizedRoutes"] = _dp.Machine.LocalizedRouteCount,
    };

    /// <summary>
    /// Which way IPv4-in-IPv6 left: by the packet uplink (next header 4 written there) or by the protocol-4 raw socket
    /// (a super-frame sent whole counts once); and <paramref name="accepted"/>, the IPv4 packets taken from the tunnels
    /// by either receiver (a super-frame as the packets it stands for).
    /// </summary>
    internal static JsonObject Ipv4TunnelJson(Ipv4TunnelSink sink, long accepted) => new()
    {
        ["packetUplinkPackets"] = sink.Ipv4PacketUplinkPackets,
        ["rawSocketPackets"] = sink.Ipv4Packets,
        ["acceptedPackets"] = accepted,
    };

    internal static JsonObject SocketJson(PortCounters c) => new()
    {
        ["rxPackets"] = c.RxPackets,
        ["txPackets"] = c.TxPackets,
        ["txErrors"] = c.TxErrors,
        ["txWouldBlock"] = c.TxWouldBlock,
    };

    internal static JsonArray Strings<T>(IEnumerable<T> items) => [.. items.Select(i => (JsonNode?)JsonValue.Create(i!.ToString()))];
}
