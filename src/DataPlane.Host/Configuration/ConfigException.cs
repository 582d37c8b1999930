namespace DataPlane.Host.Configuration;

/// <summary>
/// A configuration file (daemon config or policy file) that cannot be used, with the file, the key
/// path and the reason, e.g. <c>mag1.json: timers.nudProbeInterval: "1x" is not a duration (use 250ms, 1.5s, 2m, 1h, 7d)</c>.
/// </summary>
public sealed class ConfigException(string message) : Exception(message);
