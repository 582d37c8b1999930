using System.Text.Json;
using System.Text.Json.Nodes;

namespace DataPlane.Host.Control;

/// <summary>
/// The control channel's wire format: one JSON object per line each way.
/// Request: <c>{"command":"port.add","args":{"name":"vif1.0","mac":"52:54:00:12:34:56"}}</c>.
/// Response: <c>{"ok":true,"result":…}</c> or <c>{"ok":false,"error":"…"}</c>.
/// </summary>
public sealed record ControlRequest(string Command, JsonObject Args)
{
    public const int MaxLineBytes = 64 * 1024;

    /// <summary>
    /// A key given twice is refused at parse time: System.Text.Json would otherwise accept the text and throw
    /// ArgumentException later, on the first look-up (found by the `control` fuzzing target).
    /// </summary>
    internal static readonly JsonDocumentOptions ParseOptions = new() { AllowDuplicateProperties = false, MaxDepth = 32 };

    /// <summary>Parse one request line; null and a reason when it is not a request.</summary>
    public static ControlRequest? TryParse(string line, out string? error)
    {
        error = null;
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(line, documentOptions: ParseOptions);
        }
        catch (JsonException e)
        {
            error = $"not JSON: {e.Message}";
            return null;
        }
        if (node is not JsonObject o) { error = "a request is a JSON object"; return null; }
        if (o["command"] is not JsonValue cv || !cv.TryGetValue(out string? command) || string.IsNullOrEmpty(command))
        {
            error = "missing command (a string)";
            return null;
        }
        var args = o["args"] switch
        {
            null => new JsonObject(),
            JsonObject a => a,
            _ => null,
        };
        if (args is null) { error = "args must be an object"; return null; }
        return new ControlRequest(command, (JsonObject)args.DeepClone());
    }

    public string ToLine() => new JsonObject { ["command"] = Command, ["args"] = Args.DeepClone() }.ToJsonString();

    public string? String(string name) => Args[name] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}

public sealed record ControlResponse(bool Ok, JsonNode? Result, string? Error)
{
    /// <summary>
    /// For a streaming command (`capture`): after the response line, the server hands the connection to this and
    /// closes it when the task ends. Never serialised.
    /// </summary>
    public Func<Stream, System.Net.Sockets.Socket, CancellationToken, Task>? Continuation { get; init; }

    public static ControlResponse Success(JsonNode? result = null) => new(true, result, null);
    public static ControlResponse Failure(string error) => new(false, null, error);

    public string ToLine()
    {
        var o = new JsonObject { ["ok"] = Ok };
        if (Ok) o["result"] = Result?.DeepClone();
        else o["error"] = Error;
        return o.ToJsonString();
    }

    /// <summary>Parse the daemon's answer; <see cref="FormatException"/> (what `ctl` reports, exit 2) for anything that is not one.</summary>
    public static ControlResponse Parse(string line)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(line, documentOptions: ControlRequest.ParseOptions);
        }
        catch (JsonException e)
        {
            throw new FormatException($"the daemon's answer is not JSON: {e.Message}", e);
        }
        if (node is not JsonObject o) throw new FormatException("the daemon's answer is not a JSON object");
        // Field by field with TryGetValue: an answer whose "ok" is not a boolean is a bad answer, not a crash of ctl.
        bool ok = o["ok"] is JsonValue okValue && okValue.TryGetValue(out bool b) && b;
        string error = o["error"] is JsonValue errorValue && errorValue.TryGetValue(out string? text) ? text : "unknown error";
        return ok ? Success(o["result"]?.DeepClone()) : Failure(error);
    }
}
