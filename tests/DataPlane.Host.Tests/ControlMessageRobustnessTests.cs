using DataPlane.Host.Control;

namespace DataPlane.Host.Tests;

/// <summary>Control-channel lines the `control` fuzzing target found to throw (fuzz/regressions/control): now refused with a reason.</summary>
public sealed class ControlMessageRobustnessTests
{
    [Theory]
    [InlineData("""{"d":"s","":{},"":{}}""")]
    [InlineData("""{"command":"port.add","args":{"name":"vi","mac":"52:54:00:00:00:01","mac":"52:54:00:00:00:02"}}""")]
    [InlineData("""{"command":"ports","command":"stats"}""")]
    public void A_request_with_a_key_given_twice_is_refused_not_thrown(string line)
    {
        Assert.Null(ControlRequest.TryParse(line, out var error));
        Assert.Contains("not JSON", error);
    }

    [Theory]
    [InlineData("""{"ok":{}}""")]
    [InlineData("""{"ok":"yes","error":7}""")]
    [InlineData("""{"ok":true,"ok":false}""")]
    [InlineData("""[1]""")]
    [InlineData("""{"ok":""")]
    public void A_malformed_answer_is_a_format_error_for_ctl_not_a_crash(string line)
    {
        var e = Record.Exception(() => ControlResponse.Parse(line));
        if (e is not null) Assert.IsType<FormatException>(e);
        else Assert.False(ControlResponse.Parse(line).Ok);
    }
}
