using DataPlane.Fuzz;
using SharpFuzz;

// dotnet DataPlane.Fuzz.dll TARGET            run TARGET under afl-fuzz (input on standard input, persistent mode)
// dotnet DataPlane.Fuzz.dll TARGET FILE...    run TARGET once per file (reproduce a crash; exit 1 on the first failure)
// dotnet DataPlane.Fuzz.dll list              the targets
// dotnet DataPlane.Fuzz.dll seeds DIR         write the built seed inputs under DIR/TARGET/
if (args is ["seeds", var dir])
{
    Seeds.Write(dir);
    return 0;
}
// Nothing instrumented may run before Fuzzer.Run has set up afl's shared memory (the instrumented code writes
// its coverage there and fails without it), so the names are plain strings and the target is resolved inside.
if (args.Length == 0 || args[0] == "list")
{
    Console.WriteLine(string.Join('\n', TargetNames.All));
    return args.Length == 0 ? 64 : 0;
}
var name = args[0];
if (!TargetNames.All.Contains(name))
{
    Console.Error.WriteLine($"unknown target \"{name}\" (targets: {string.Join(", ", TargetNames.All)})");
    return 64;
}
if (args.Length > 1)
{
    var target = Targets.All[name];
    foreach (var file in args[1..])
    {
        try
        {
            target(File.ReadAllBytes(file));
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"{file}: {e}");
            return 1;
        }
    }
    return 0;
}
Action<byte[]>? fuzzed = null;
Fuzzer.Run(stream =>
{
    fuzzed ??= Targets.All[name];
    using var memory = new MemoryStream();
    stream.CopyTo(memory);
    fuzzed(memory.ToArray());
});
return 0;
