using DataPlane.Host.Policy;
using DataPlane.Host.Policy.Radius;
using static DataPlane.Host.Tests.Radius.RadiusTestPackets;

namespace DataPlane.Host.Tests.Radius;

/// <summary>The client against a scripted server on loopback: retransmission, fail-over, and answers that must be discarded.</summary>
public sealed class RadiusClientTests
{
    private static readonly RadiusRequest Request = new([RadiusAttribute.String(RadiusAttributeType.UserName, "vm1@test")]);

    private static (RadiusClient Client, PolicyCounters Counters) Client(params FakeRadiusServer[] servers) => Client(TimeSpan.FromSeconds(2), servers);

    /// <summary>Tests that need answers to arrive before a try times out (the machine may be busy) use a longer timeout.</summary>
    private static (RadiusClient Client, PolicyCounters Counters) Client(TimeSpan timeout, params FakeRadiusServer[] servers)
    {
        var counters = new PolicyCounters();
        return (new RadiusClient([.. servers.Select(s => s.Config(timeout))], counters), counters);
    }

    [Fact]
    public async Task Accept_comes_back_with_its_packet()
    {
        using var server = new FakeRadiusServer(r => [r.Answer(RadiusCode.AccessAccept, Prefix(97, "2001:db8:9::/64"))]);
        var (client, counters) = Client(server);
        using var _ = client;
        var result = await client.AuthenticateAsync(Request);
        Assert.Equal(RadiusOutcome.Accept, result.Outcome);
        Assert.Equal(1, counters.RadiusRequests);
        Assert.Equal(0, counters.RadiusRetransmissions);
        // What went out: User-Name and a Message-Authenticator that verifies with the shared secret.
        var sent = Assert.Single(server.Received);
        Assert.True(RadiusPacket.VerifyRequestMessageAuthenticator(sent, "s3cret"u8));
    }

    [Fact]
    public async Task Silence_is_retransmitted_unchanged_then_reported_unreachable()
    {
        using var server = new FakeRadiusServer(_ => []);
        var (client, counters) = Client(TimeSpan.FromMilliseconds(200), server);
        using var _ = client;
        var result = await client.AuthenticateAsync(Request);
        Assert.Equal(RadiusOutcome.Failed, result.Outcome);
        Assert.Equal(PolicyFailure.ServerUnreachable, result.Failure);
        Assert.Contains("no answer (2 tries, 200ms each", result.Detail);
        Assert.Equal(2, server.Received.Count);
        Assert.Equal(server.Received[0], server.Received[1]); // same identifier and Request Authenticator (RFC 5080 §2.2.1)
        Assert.Equal(1, counters.RadiusRetransmissions);
        Assert.Equal(1, counters.RadiusServerTimeouts);
    }

    [Fact]
    public async Task The_second_server_answers_when_the_first_is_silent_and_the_first_is_then_tried_last()
    {
        using var dead = new FakeRadiusServer(_ => []);
        using var alive = new FakeRadiusServer(r => [r.Answer(RadiusCode.AccessReject)]);
        var (client, counters) = Client(TimeSpan.FromMilliseconds(500), dead, alive);
        using var _ = client;
        var result = await client.AuthenticateAsync(Request);
        Assert.Equal(RadiusOutcome.Reject, result.Outcome);
        Assert.Equal(alive.EndPoint.ToString(), result.Server);
        Assert.Equal(1, counters.RadiusFailovers);

        // Within the dead time the live server is asked first: no more waiting on the silent one.
        var second = await client.AuthenticateAsync(Request);
        Assert.Equal(RadiusOutcome.Reject, second.Outcome);
        Assert.Equal(2, dead.Requests);
        Assert.Equal(2, alive.Requests);
    }

    [Theory]
    [InlineData(SignMode.NoMessageAuthenticator, PolicyFailure.MissingMessageAuthenticator, RadiusPacketError.MissingMessageAuthenticator)]
    [InlineData(SignMode.WrongMessageAuthenticator, PolicyFailure.BadMessageAuthenticator, RadiusPacketError.BadMessageAuthenticator)]
    [InlineData(SignMode.WrongSecret, PolicyFailure.BadResponseAuthenticator, RadiusPacketError.BadResponseAuthenticator)]
    public async Task Answers_that_fail_a_check_are_discarded_counted_and_named(SignMode mode, PolicyFailure failure, RadiusPacketError discard)
    {
        using var server = new FakeRadiusServer(r => [r.Answer(RadiusCode.AccessAccept, Prefix(97, "2001:db8:9::/64"), mode)]);
        var (client, counters) = Client(TimeSpan.FromSeconds(1), server);
        using var _ = client;
        var result = await client.AuthenticateAsync(Request);
        Assert.Equal(RadiusOutcome.Failed, result.Outcome);
        Assert.Equal(failure, result.Failure);
        Assert.InRange(counters.DiscardedResponses(discard), 1, 2); // one per try (the last may land after the request gave up)
    }

    [Fact]
    public async Task A_forged_answer_does_not_end_the_request_early()
    {
        // The attacker answers first with a wrong authenticator; the real answer that follows is taken.
        using var server = new FakeRadiusServer(r =>
            [r.Answer(RadiusCode.AccessAccept, Prefix(97, "2001:db8:666::/64"), SignMode.WrongSecret), r.Answer(RadiusCode.AccessReject)]);
        var (client, counters) = Client(server);
        using var _ = client;
        var result = await client.AuthenticateAsync(Request);
        Assert.Equal(RadiusOutcome.Reject, result.Outcome);
        Assert.Equal(1, counters.DiscardedResponses(RadiusPacketError.BadResponseAuthenticator));
    }

    [Fact]
    public async Task Garbage_and_answers_for_other_identifiers_are_discarded()
    {
        using var server = new FakeRadiusServer(r =>
        {
            var other = r.Answer(RadiusCode.AccessAccept);
            other[1] ^= 0x80;
            return [[1, 2, 3], other, r.Answer(RadiusCode.AccessAccept)];
        });
        var (client, counters) = Client(server);
        using var _ = client;
        Assert.Equal(RadiusOutcome.Accept, (await client.AuthenticateAsync(Request)).Outcome);
        Assert.Equal(1, counters.DiscardedResponses(RadiusPacketError.Truncated));
        Assert.Equal(1, counters.DiscardedResponses(RadiusPacketError.UnknownIdentifier));
    }

    [Fact]
    public async Task An_access_challenge_is_a_failure_not_an_accept()
    {
        using var server = new FakeRadiusServer(r => [r.Answer(RadiusCode.AccessChallenge)]);
        var (client, _) = Client(server);
        using var __ = client;
        var result = await client.AuthenticateAsync(Request);
        Assert.Equal(PolicyFailure.UnexpectedResponse, result.Failure);
    }

    [Fact]
    public async Task More_requests_than_identifiers_all_get_their_own_answer()
    {
        // Each answer carries the User-Name it answers, so a mix-up between identifiers would show.
        using var server = new FakeRadiusServer(r => [r.Answer(RadiusCode.AccessAccept, Attribute(18, r.Attribute(RadiusAttributeType.UserName)!))]);
        var (client, counters) = Client(TimeSpan.FromSeconds(5), server);
        using var _ = client;
        var names = Enumerable.Range(0, 600).Select(i => $"vm{i}@test").ToArray();
        var results = await Task.WhenAll(names.Select(n => client.AuthenticateAsync(new RadiusRequest([RadiusAttribute.String(RadiusAttributeType.UserName, n)]))));
        for (int i = 0; i < names.Length; i++)
        {
            Assert.Equal(RadiusOutcome.Accept, results[i].Outcome);
            Assert.Equal(names[i], RadiusProfileReader.ReplyMessage(results[i].Packet));
        }
        Assert.Equal(600, counters.RadiusAccepts);
    }
}
