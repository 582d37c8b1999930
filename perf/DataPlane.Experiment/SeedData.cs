namespace DataPlane.Experiment;

/// <summary>One column of a seed table: the statistics published for one RTT (the relative half-length as the thesis prints it).</summary>
public sealed record SeedColumn(double RttMs, double Mean, double Min, double Max, double StdDev, double HalfLength, double RelativeHalfLengthPercent);

/// <summary>
/// The seed study's published results, copied from the paper (Kassahun, Demessie, Ilie: "A PMIPv6
/// Approach to Maintain Network Connectivity During VM Live Migration Over the Internet", IEEE 2014,
/// shared/seeds/003_…, Tables I–IV) and the thesis it summarises (shared/seeds/000_…, Tables 1–4, the
/// same numbers; the relative half-lengths are only in the thesis), 70 migrations per RTT, 95% confidence intervals. Downtime in ms, total migration
/// time in seconds as published. They are data, not a model: do not "fix" them.
/// </summary>
public static class SeedData
{
    /// <summary>The four client–VM round-trip times of the seed (Section IV): campus, Europe, trans-Atlantic, trans-Pacific.</summary>
    public static readonly double[] RttsMs = [0.02, 30, 90, 160];

    public static readonly string[] RttNames = ["Campus", "Europe", "Trans-Atlantic", "Trans-Pacific"];

    /// <summary>Table I (paper) / Table 1 (thesis): PMIPv6 service downtime, ms. The paper prints the 0.02 ms
    /// standard deviation as 8.80; the thesis's Table 1 has 18.80, which is what its ±4.48 half-length
    /// (t(69)·s/√70) implies, so 18.80 is used.</summary>
    public static readonly SeedColumn[] PmipDowntimeMs =
    [
        new(0.02, 289.71, 254.80, 346.48, 18.80, 4.48, 1.55),
        new(30, 320.62, 275.10, 395.68, 22.20, 5.29, 1.65),
        new(90, 407.88, 351.73, 491.89, 30.69, 7.32, 1.79),
        new(160, 543.15, 440.04, 735.95, 55.08, 13.13, 2.51),
    ];

    /// <summary>Table II (paper) / Table 3 (thesis): MIPv6 service downtime, ms.</summary>
    public static readonly SeedColumn[] MipDowntimeMs =
    [
        new(0.02, 1790.39, 1294.91, 2576.22, 263.02, 62.71, 3.50),
        new(30, 1802.97, 1316.05, 2307.80, 272.34, 64.94, 3.60),
        new(90, 1921.43, 1399.18, 2991.69, 321.13, 76.57, 3.99),
        new(160, 2056.78, 1583.94, 2664.06, 278.00, 66.76, 3.25),
    ];

    /// <summary>Table III (paper) / Table 2 (thesis): PMIPv6 total migration time, s (256 MB guest, 1 Gbit/s links).</summary>
    public static readonly SeedColumn[] PmipTotalMigrationS =
    [
        new(0.02, 6.78, 6.00, 7.03, 0.42, 0.10, 1.49),
        new(30, 8.38, 8.00, 9.03, 0.49, 0.12, 1.39),
        new(90, 15.51, 15.00, 16.04, 0.50, 0.12, 0.78),
        new(160, 24.14, 23.05, 25.02, 0.38, 0.09, 0.37),
    ];

    /// <summary>Table IV (paper) / Table 4 (thesis): MIPv6 total migration time, s.</summary>
    public static readonly SeedColumn[] MipTotalMigrationS =
    [
        new(0.02, 7.13, 6.25, 8.97, 0.50, 0.12, 1.66),
        new(30, 9.19, 8.42, 10.07, 0.40, 0.10, 1.03),
        new(90, 16.39, 15.62, 17.59, 0.44, 0.11, 0.64),
        new(160, 25.65, 24.76, 29.00, 0.79, 0.19, 0.73),
    ];

    /// <summary>Thesis Section 4.1.D / Figure 11 (PMIPv6, 10 repetitions): 541.86 MB crossed the LMA's two MAG
    /// links per migration, 99.74% of it Xen's, PMIPv6 signalling 0.00012% (660.8 B), client, iSCSI and
    /// other together under 0.27%. (The paper, Section IV.D, counts ND and SLAAC with mobility signalling.)</summary>
    public const double SeedTotalMb = 541.86;
    public const double SeedMigrationSharePercent = 99.74;
    public const double SeedSignallingSharePercent = 0.00012;
    public const double SeedSignallingBytes = 660.8;

    /// <summary>The seed's column for an RTT, or null when the RTT is not one of the seed's four.</summary>
    public static SeedColumn? For(SeedColumn[] table, double rttMs) =>
        table.FirstOrDefault(c => Math.Abs(c.RttMs - rttMs) < 1e-9);

    public static string NameOf(double rttMs)
    {
        int i = Array.FindIndex(RttsMs, r => Math.Abs(r - rttMs) < 1e-9);
        return i < 0 ? "" : RttNames[i];
    }
}
