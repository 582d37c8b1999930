using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using DataPlane.Host.Control;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Host.Tests;

public sealed class ControlServerTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-ctl-").FullName;
    private ControlServer _server = null!;
    private string Socket => Path.Combine(_dir, "test.sock");

    public Task InitializeAsync()
    {
        _server = new ControlServer(Socket, (req, _) => req.Command switch
        {
            "echo" => Task.FromResult(ControlResponse.Success(req.Args.DeepClone())),
            "boom" => throw new InvalidOperationException("kaboom"),
            _ => Task.FromResult(ControlResponse.Failure($"unknown command \"{req.Command}\"")),
        }, NullLogger.Instance);
        _server.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, true);
    }

    private async Task<string> Raw(string payload)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(Socket));
        await s.SendAsync(Encoding.UTF8.GetBytes(payload));
        var buffer = new byte[65536];
        int n = await s.ReceiveAsync(buffer);
        return Encoding.UTF8.GetString(buffer, 0, n).Trim();
    }

    [Fact]
    public async Task A_request_gets_its_answer()
    {
        var r = await ControlClient.SendAsync(Socket, new ControlRequest("echo", new JsonObject { ["x"] = 1 }), TimeSpan.FromSeconds(5));
        Assert.True(r.Ok);
        Assert.Equal(1, r.Result!["x"]!.GetValue<int>());
    }

    [Fact]
    public void The_socket_is_root_only()
    {
        var mode = File.GetUnixFileMode(Socket);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
    }

    [Theory]
    [InlineData("garbage\n", "bad request: not JSON")]
    [InlineData("[1,2]\n", "bad request: a request is a JSON object")]
    [InlineData("{\"args\":{}}\n", "missing command")]
    [InlineData("{\"command\":\"x\",\"args\":5}\n", "args must be an object")]
    [InlineData("{\"command\":\"nope\"}\n", "unknown command")]
    public async Task Garbage_gets_an_error_reply_and_the_server_carries_on(string payload, string expected)
    {
        var answer = await Raw(payload);
        Assert.Contains("\"ok\":false", answer);
        Assert.Contains(expected, answer);
        var r = await ControlClient.SendAsync(Socket, new ControlRequest("echo", []), TimeSpan.FromSeconds(5));
        Assert.True(r.Ok);
    }

    [Fact]
    public async Task A_failing_command_is_reported_not_fatal()
    {
        var r = await ControlClient.SendAsync(Socket, new ControlRequest("boom", []), TimeSpan.FromSeconds(5));
        Assert.False(r.Ok);
        Assert.Contains("kaboom", r.Error);
        Assert.True((await ControlClient.SendAsync(Socket, new ControlRequest("echo", []), TimeSpan.FromSeconds(5))).Ok);
    }

    [Fact]
    public async Task An_oversized_line_is_refused()
    {
        var answer = await Raw(new string('x', ControlRequest.MaxLineBytes + 10));
        Assert.Contains("longer than", answer);
        Assert.True((await ControlClient.SendAsync(Socket, new ControlRequest("echo", []), TimeSpan.FromSeconds(5))).Ok);
    }

    [Fact]
    public async Task A_second_server_on_a_live_socket_is_refused_and_a_stale_one_is_replaced()
    {
        Assert.Throws<InvalidOperationException>(() => new ControlServer(Socket, (_, _) => Task.FromResult(ControlResponse.Success()), NullLogger.Instance));
        var stale = Path.Combine(_dir, "stale.sock");
        using (var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
            s.Bind(new UnixDomainSocketEndPoint(stale)); // left behind, nobody listening
        await using var replacement = new ControlServer(stale, (_, _) => Task.FromResult(ControlResponse.Success()), NullLogger.Instance);
        replacement.Start();
        Assert.True((await ControlClient.SendAsync(stale, new ControlRequest("x", []), TimeSpan.FromSeconds(5))).Ok);
    }
}
