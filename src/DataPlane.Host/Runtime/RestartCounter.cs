namespace DataPlane.Host.Runtime;

/// <summary>
/// The RFC 5847 restart counter: read from a file, incremented and written back at every start, so peers
/// see a new value after each restart. A missing file starts at 1; an unreadable one is an error.
/// </summary>
public static class RestartCounter
{
    public static uint Next(string path)
    {
        uint previous = 0;
        if (File.Exists(path))
        {
            var text = File.ReadAllText(path).Trim();
            if (!uint.TryParse(text, out previous))
                throw new InvalidDataException($"{path}: restart counter \"{text}\" is not a number; fix or delete the file");
        }
        uint next = previous == uint.MaxValue ? 1 : previous + 1;
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, next + "\n");
        File.Move(tmp, path, overwrite: true);
        return next;
    }
}
