using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DataPlane.Testing;

/// <summary>A RADIUS client entry of clients.conf: who may ask, with which shared secret.</summary>
public sealed record FreeRadiusClient(string Name, string Address, string Secret);

/// <summary>
/// A real FreeRADIUS (Debian's `freeradius`) for one test: a configuration directory the test writes
/// (radiusd.conf with the clients, every one with require_message_authenticator = yes, and a users file),
/// run in the foreground (`freeradius -X -d DIR`), optionally inside a network namespace, killed at
/// <see cref="Dispose"/> whatever happened (and by `timeout` after 5 minutes should the test host die).
/// FreeRADIUS 3.2.1 does not sign its answers by itself (3.2.5, after BlastRADIUS, does): the post-auth
/// section adds a Message-Authenticator to every Access-Accept and Access-Reject.
/// </summary>
public sealed class FreeRadiusServer : IDisposable
{
    public const string Binary = "/usr/sbin/freeradius";
    private readonly string? _netns;
    private Process? _process;

    public FreeRadiusServer(string listenAddress, int port, IReadOnlyList<FreeRadiusClient> clients, string users, string? netns = null)
    {
        if (!File.Exists(Binary))
            throw new InvalidOperationException($"{Binary} is missing: install Debian's freeradius (scripts/install-deps does)");
        _netns = netns;
        Address = listenAddress;
        Port = port;
        Directory = System.IO.Directory.CreateTempSubdirectory("dataplane-freeradius-").FullName;
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "run"));
        File.WriteAllText(Path.Combine(Directory, "dictionary"), "");
        File.WriteAllText(Path.Combine(Directory, "users"), users);
        File.WriteAllText(Path.Combine(Directory, "radiusd.conf"), Config(listenAddress, port, clients));
    }

    public string Directory { get; }
    public string Address { get; }
    public int Port { get; }
    public string LogFile => Path.Combine(Directory, "freeradius.log");
    public bool Running => _process is { HasExited: false };

    /// <summary>A UDP port nobody uses on this address now (in the current namespace).</summary>
    public static int FreeUdpPort(IPAddress address)
    {
        using var s = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>Start and wait until it says it is ready.</summary>
    public void Start(TimeSpan? timeout = null)
    {
        var command = $"exec timeout -s KILL 300 {Binary} -X -d {Directory} >{LogFile} 2>&1";
        var psi = _netns is null ? new ProcessStartInfo("bash") : new ProcessStartInfo("ip");
        if (_netns is not null) foreach (var a in new[] { "netns", "exec", _netns, "bash" }) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        psi.UseShellExecute = false;
        _process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start freeradius");
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < (timeout ?? TimeSpan.FromSeconds(20)))
        {
            if (File.Exists(LogFile) && File.ReadAllText(LogFile).Contains("Ready to process requests", StringComparison.Ordinal)) return;
            if (_process.HasExited) throw new InvalidOperationException($"freeradius exited ({_process.ExitCode}):\n{Log(60)}");
            Thread.Sleep(50);
        }
        throw new TimeoutException($"freeradius not ready:\n{Log(60)}");
    }

    /// <summary>Kill it (the "server stopped" case) and wait until it is gone.</summary>
    public void Stop()
    {
        if (_process is null) return;
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        _process = null;
    }

    public string Log(int lines = 40) =>
        File.Exists(LogFile) ? string.Join('\n', File.ReadAllLines(LogFile).TakeLast(lines)) : "(no freeradius log)";

    public void Dispose()
    {
        Stop();
        try
        {
            System.IO.Directory.Delete(Directory, true);
        }
        catch (IOException)
        {
        }
    }

    private string Config(string listenAddress, int port, IReadOnlyList<FreeRadiusClient> clients)
    {
        var family = listenAddress.Contains(':') ? "ipv6addr" : "ipaddr";
        var clientText = string.Join("\n", clients.Select(c => $$"""
            client {{c.Name}} {
              {{(c.Address.Contains(':') ? "ipv6addr" : "ipaddr")}} = {{c.Address}}
              secret = "{{c.Secret}}"
              require_message_authenticator = yes
            }
            """));
        return $$"""
            prefix = /usr
            exec_prefix = /usr
            sysconfdir = /etc
            localstatedir = /var
            sbindir = /usr/sbin
            logdir = {{Directory}}
            raddbdir = {{Directory}}
            radacctdir = {{Directory}}
            name = freeradius
            confdir = ${raddbdir}
            modconfdir = ${confdir}
            run_dir = {{Directory}}/run
            db_dir = ${raddbdir}
            libdir = /usr/lib/freeradius
            pidfile = ${run_dir}/freeradius.pid
            max_request_time = 5
            cleanup_delay = 0
            max_requests = 4096
            hostname_lookups = no
            log {
              destination = stdout
              auth = yes
            }
            security {
              allow_core_dumps = no
              max_attributes = 200
              reject_delay = 0
              status_server = no
            }
            {{clientText}}
            modules {
              files {
                filename = {{Directory}}/users
              }
              pap {
              }
            }
            server default {
              listen {
                type = auth
                {{family}} = {{listenAddress}}
                port = {{port}}
              }
              authorize {
                files
                pap
              }
              authenticate {
                Auth-Type PAP {
                  pap
                }
              }
              post-auth {
                update reply {
                  Message-Authenticator := 0x00
                }
                Post-Auth-Type REJECT {
                  update reply {
                    Message-Authenticator := 0x00
                  }
                }
              }
            }
            """;
    }
}
