namespace DataPlane.Host.Configuration;

/// <summary>Linux interface name rules (IFNAMSIZ 16 including the terminator; dev_valid_name()).</summary>
public static class InterfaceNames
{
    public const int MaxLength = 15;

    public static bool IsValid(string name) =>
        name.Length is > 0 and <= MaxLength && name != "." && name != ".."
        && !name.Any(c => c == '/' || c == ':' || char.IsWhiteSpace(c) || c < 0x21 || c > 0x7e);
}
