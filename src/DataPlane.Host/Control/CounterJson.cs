using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text.Json.Nodes;
using DataPlane.Datapath;
using DataPlane.Protocol;
using DataPlane.Protocol.Heartbeat;
using DataPlane.Protocol.Lma;
using DataPlane.Protocol.Mag;

namespace DataPlane.Host.Control;

/// <summary>
/// Counter objects (the machines' and the data path's) as JSON for `ctl stats`: numeric fields and
/// properties as numbers, labelled counters as {label: value} of their non-zero entries, nested counter
/// objects recursively. Reflection is fine here: it runs on a control request, never on a packet; the
/// counter types are kept whole for the native build by the DynamicDependency attributes below.
/// </summary>
public static class CounterJson
{
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicProperties, typeof(MagCounters))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicProperties, typeof(LmaCounters))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicProperties, typeof(HeartbeatCounters))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicProperties, typeof(DatapathCounters))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicProperties, typeof(CounterBlock))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicProperties, typeof(PathCounters))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicProperties, typeof(MagHandoverCounters))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicProperties, typeof(LmaHandoverCounters))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.PublicProperties, typeof(HandoverDatapathCounters))]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Counter types are preserved by the DynamicDependency attributes.")]
    public static JsonObject ToJson(object counters, int depth = 0)
    {
        var o = new JsonObject();
        foreach (var m in counters.GetType().GetMembers(BindingFlags.Public | BindingFlags.Instance))
        {
            object? value = m switch
            {
                FieldInfo f => f.GetValue(counters),
                PropertyInfo p when p.GetIndexParameters().Length == 0 && p.CanRead => p.GetValue(counters),
                _ => null,
            };
            var name = char.ToLowerInvariant(m.Name[0]) + m.Name[1..];
            switch (value)
            {
                case long l: o[name] = l; break;
                case int i: o[name] = i; break;
                case uint u: o[name] = u; break;
                case double d: o[name] = d; break;
                case ILabeledCounter labelled:
                    var entries = new JsonObject();
                    foreach (var (label, count) in labelled.NonZeroByName()) entries[label] = count;
                    o[name] = entries;
                    break;
                case null: break;
                default:
                    var t = value.GetType();
                    if (depth < 3 && t.IsClass && t != typeof(string) && t.Namespace?.StartsWith("DataPlane", StringComparison.Ordinal) == true)
                        o[name] = ToJson(value, depth + 1);
                    break;
            }
        }
        return o;
    }
}
