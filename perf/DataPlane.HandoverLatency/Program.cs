using System.Globalization;
using DataPlane.Protocol;
using DataPlane.Simulation;

// Handover latency (attach seen at the new MAG → the VM has the RA AND the LMA forwards to the new MAG)
// at the seed study's four WAN cases, from the deterministic simulation with lossless links. The
// baseline is the MAG–LMA round trip itself: PMIPv6 cannot do better than one, so "latency − RTT" is
// what the rest adds (here only the RA's 20 µs hop on the access link: the policy store answers at
// once and the trigger's own hop is before "attach seen"). The virtual clock makes
// processing free, so the real CPU time spent inside the MAG and LMA machines per handover is measured
// separately (wall clock, this machine, this run).

int perRow = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
long seed = args.Length > 1 ? long.Parse(args[1], CultureInfo.InvariantCulture) : 1;
double[] oneWayMs = [0.01, 15, 45, 80];
string[] seedCase = ["campus", "Europe", "trans-Atlantic", "trans-Pacific"];

Console.WriteLine($"Handover latency, deterministic simulation (seed {seed}), {perRow} migrations per row, no loss,");
Console.WriteLine("policy answered in 0 ms, access link 20 µs, MAG options = RecommendedForMigration(RTT).");
Console.WriteLine();
Console.WriteLine("| one-way | RTT | case | order | n | mean | p50 | p99 | max | mean − RTT | max − RTT | machine CPU / handover |");
Console.WriteLine("|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
for (int i = 0; i < oneWayMs.Length; i++)
{
    foreach (var order in new[] { MigrationOrder.NewMagRegistersFirst, MigrationOrder.OldMagDeregistersFirst })
    {
        var r = Measure(TimeSpan.FromMilliseconds(oneWayMs[i]), order, perRow, seed);
        var rtt = TimeSpan.FromMilliseconds(2 * oneWayMs[i]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {oneWayMs[i]} ms | {Ms(rtt)} | {seedCase[i]} | {(order == MigrationOrder.NewMagRegistersFirst ? "new MAG first" : "old MAG first")} | {r.Latencies.Length} | " +
            $"{Ms(r.Mean)} | {Ms(r.P(0.50))} | {Ms(r.P(0.99))} | {Ms(r.Max)} | {Ms(r.Mean - rtt)} | {Ms(r.Max - rtt)} | {r.CpuPerHandover.TotalMicroseconds:F1} µs |"));
    }
}
Console.WriteLine();
Console.WriteLine("Seed study (Xen + bridge + pmip6d, Table I), service downtime including Xen's stop-and-copy:");
Console.WriteLine("290 ms (campus, 0.02 ms RTT), 321 ms (30 ms), 408 ms (90 ms), 543 ms (160 ms).");

static string Ms(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{t.TotalMilliseconds:F3} ms");

static Result Measure(TimeSpan oneWay, MigrationOrder order, int migrations, long seed)
{
    var d = new PmipDomain(seed, new DomainOptions
    {
        MagCount = 3,
        Uplink = LinkProfile.Ideal(oneWay),
        Downlink = LinkProfile.Ideal(oneWay),
        PolicyDelay = TimeSpan.Zero,
    });
    var random = d.Sim.NewRandomStream();
    var vms = Enumerable.Range(0, 100).Select(_ => d.AddVm()).ToList();
    foreach (var vm in vms) d.Boot(vm, d.Mags[vm.Index % 3]);
    d.Sim.RunFor(TimeSpan.FromSeconds(10));
    foreach (var m in d.Mags) m.MachineTime = TimeSpan.Zero;
    d.Lma.MachineTime = TimeSpan.Zero;

    var records = new List<HandoverRecord>(migrations);
    // One migration every 100 ms, each of a VM not already moving, each VM resting ≥ 1 s in between.
    var rested = vms.ToDictionary(v => v, _ => d.Sim.Now);
    while (records.Count < migrations)
    {
        var vm = vms[random.NextInt(vms.Count)];
        if (vm.State == VmState.Running && d.Sim.Now - rested[vm] > TimeSpan.FromSeconds(1) && d.Tracker.PendingFor(vm) is null)
        {
            var to = d.Mags.Where(m => m != vm.Mag).ElementAt(random.NextInt(2));
            records.Add(d.Migrate(vm, to, order, TimeSpan.FromMilliseconds(50 + random.NextInt(250))));
            rested[vm] = d.Sim.Now + TimeSpan.FromSeconds(2);
        }
        d.Sim.RunFor(TimeSpan.FromMilliseconds(100));
    }
    d.Sim.RunFor(TimeSpan.FromSeconds(5));
    var incomplete = records.Count(r => !r.IsComplete);
    if (incomplete > 0) throw new InvalidOperationException($"{incomplete} handovers did not complete (seed {seed})");
    if (records.Any(r => r.Vm.Prefix != r.PrefixBefore)) throw new InvalidOperationException($"a VM changed prefix (seed {seed})");
    var cpu = d.Mags.Aggregate(d.Lma.MachineTime, (t, m) => t + m.MachineTime);
    return new Result([.. records.Select(r => r.Latency!.Value).Order()], cpu / migrations);
}

internal sealed record Result(TimeSpan[] Latencies, TimeSpan CpuPerHandover)
{
    public TimeSpan Mean => TimeSpan.FromTicks((long)Latencies.Average(l => l.Ticks));
    public TimeSpan Max => Latencies[^1];
    public TimeSpan P(double q) => Latencies[Math.Min(Latencies.Length - 1, (int)Math.Ceiling(q * Latencies.Length) - 1)];
}
