using CsCheck;
using DataPlane.Protocol.Security;

namespace DataPlane.Protocol.Tests.Security;

public sealed class AntiReplayWindowTests
{
    [Fact]
    public void Zero_is_never_accepted_and_the_first_packet_is()
    {
        var w = new AntiReplayWindow();
        Assert.False(w.Check(0));
        Assert.True(w.Check(1));
    }

    [Fact]
    public void The_window_is_exactly_its_size_wide()
    {
        var w = new AntiReplayWindow(128);
        w.Accept(1000);
        Assert.True(w.Check(1000 - 127));
        Assert.False(w.Check(1000 - 128));
        Assert.False(w.Check(1000));
    }

    /// <summary>Against a set of every number ever accepted: the window answers like it, for numbers it still covers.</summary>
    [Fact]
    public void Agrees_with_a_set_of_everything_seen()
    {
        Gen.UInt[1, 400].Array[1, 300].Select(Gen.Int[1, 4]).Sample((sequence, words) =>
        {
            var w = new AntiReplayWindow(words * 64);
            var seen = new HashSet<uint>();
            uint highest = 0;
            foreach (var s in sequence)
            {
                bool expected = !seen.Contains(s) && (s > highest || highest - s < (uint)w.Size);
                Assert.Equal(expected, w.Check(s));
                if (expected)
                {
                    w.Accept(s);
                    seen.Add(s);
                    highest = Math.Max(highest, s);
                }
            }
        });
    }
}
