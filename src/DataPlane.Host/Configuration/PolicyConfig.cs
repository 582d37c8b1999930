namespace DataPlane.Host.Configuration;

/// <summary>Where the daemons get their policy: the file store (issue 7 adds RADIUS next to it).</summary>
public sealed record PolicyConfig(string File)
{
    public static PolicyConfig Parse(ConfigObject o)
    {
        var file = o.RequiredString("file");
        o.Done();
        return new PolicyConfig(file);
    }
}
