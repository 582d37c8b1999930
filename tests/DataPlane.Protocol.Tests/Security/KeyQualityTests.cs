using DataPlane.Protocol.Security;

namespace DataPlane.Protocol.Tests.Security;

public sealed class KeyQualityTests
{
    [Theory]
    [InlineData("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "one octet")] // RFC 4868 AUTH256-1's key
    [InlineData("4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665", "every 4 octets")] // "Jefe" × 8, AUTH256-2
    [InlineData("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", "counting")] // AUTH256-3's
    [InlineData("00000000000000000000000000000000000000000000000000000000000000ff", "distinct")]
    [InlineData("636f727265637420686f727365206261747465727920737461706c6521212121", "printable")] // "correct horse battery staple!!!!"
    public void Plainly_non_random_keys_are_refused_with_the_reason(string hex, string reason)
    {
        Assert.Contains(reason, KeyQuality.Weakness(Convert.FromHexString(hex)));
    }

    [Fact]
    public void Random_keys_pass()
    {
        var rng = new Random(7);
        for (int i = 0; i < 10_000; i++)
        {
            var key = new byte[i % 2 == 0 ? 32 : 20];
            rng.NextBytes(key);
            Assert.Null(KeyQuality.Weakness(key));
        }
    }
}
