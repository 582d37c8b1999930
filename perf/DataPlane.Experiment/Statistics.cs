namespace DataPlane.Experiment;

/// <summary>
/// What the thesis reports per metric and RTT (Section 4, equations (1) and (2)): mean, minimum,
/// maximum, sample standard deviation, the half-length of the 95% confidence interval
/// t(n−1, 1−α/2)·√(S²/n), and that half-length relative to the mean.
/// </summary>
public sealed record Summary(int N, double Mean, double Min, double Max, double StdDev, double HalfLength)
{
    /// <summary>Half-length / mean × 100 (equation (2), with the sample mean for μ).</summary>
    public double RelativeHalfLengthPercent => Mean == 0 ? double.NaN : HalfLength / Mean * 100;

    public static Summary? Of(IReadOnlyCollection<double> values, double confidence = 0.95)
    {
        var xs = values.Where(v => !double.IsNaN(v)).ToArray();
        if (xs.Length == 0) return null;
        double mean = xs.Average();
        double sd = xs.Length < 2 ? double.NaN : Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Length - 1));
        double half = xs.Length < 2 ? double.NaN : StudentT.Quantile(1 - (1 - confidence) / 2, xs.Length - 1) * sd / Math.Sqrt(xs.Length);
        return new Summary(xs.Length, mean, xs.Min(), xs.Max(), sd, half);
    }
}

/// <summary>Student's t distribution: CDF through the regularised incomplete beta function, quantile by bisection.</summary>
public static class StudentT
{
    /// <summary>P(T ≤ t) for ν degrees of freedom.</summary>
    public static double Cdf(double t, double nu)
    {
        if (nu <= 0) throw new ArgumentOutOfRangeException(nameof(nu));
        double x = nu / (nu + t * t);
        double tail = 0.5 * RegularizedIncompleteBeta(nu / 2, 0.5, x);
        return t >= 0 ? 1 - tail : tail;
    }

    /// <summary>The t such that P(T ≤ t) = p (0 &lt; p &lt; 1), e.g. Quantile(0.975, 69) ≈ 1.99495.</summary>
    public static double Quantile(double p, double nu)
    {
        if (p <= 0 || p >= 1) throw new ArgumentOutOfRangeException(nameof(p));
        if (p < 0.5) return -Quantile(1 - p, nu);
        double lo = 0, hi = 1;
        while (Cdf(hi, nu) < p) hi *= 2;
        for (int i = 0; i < 200 && hi - lo > 1e-12 * Math.Max(1, hi); i++)
        {
            double mid = (lo + hi) / 2;
            if (Cdf(mid, nu) < p) lo = mid;
            else hi = mid;
        }
        return (lo + hi) / 2;
    }

    /// <summary>I_x(a, b), by the continued fraction (modified Lentz), using the symmetry for convergence.</summary>
    public static double RegularizedIncompleteBeta(double a, double b, double x)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        double lnFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x);
        if (x < (a + 1) / (a + b + 2)) return Math.Exp(lnFront) * ContinuedFraction(a, b, x) / a;
        return 1 - Math.Exp(lnFront) * ContinuedFraction(b, a, 1 - x) / b;
    }

    private static double ContinuedFraction(double a, double b, double x)
    {
        const double Tiny = 1e-300, Eps = 1e-15;
        double qab = a + b, qap = a + 1, qam = a - 1;
        double c = 1, d = 1 - qab * x / qap;
        if (Math.Abs(d) < Tiny) d = Tiny;
        d = 1 / d;
        double h = d;
        for (int m = 1; m <= 1000; m++)
        {
            int m2 = 2 * m;
            double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
            d = 1 + aa * d;
            if (Math.Abs(d) < Tiny) d = Tiny;
            c = 1 + aa / c;
            if (Math.Abs(c) < Tiny) c = Tiny;
            d = 1 / d;
            h *= d * c;
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
            d = 1 + aa * d;
            if (Math.Abs(d) < Tiny) d = Tiny;
            c = 1 + aa / c;
            if (Math.Abs(c) < Tiny) c = Tiny;
            d = 1 / d;
            double del = d * c;
            h *= del;
            if (Math.Abs(del - 1) < Eps) break;
        }
        return h;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, n = 9: about 15 significant digits).</summary>
    public static double LogGamma(double x)
    {
        ReadOnlySpan<double> c =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        double sum = c[0];
        for (int i = 1; i < 9; i++) sum += c[i] / (x + i);
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
