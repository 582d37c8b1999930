using DataPlane.Tests.Shared;

namespace DataPlane.EndToEnd.Tests;

/// <summary>
/// The Debian package `make deb` builds (scripts/build-deb), built here from what `make build` published: named
/// and versioned from the git description, lintian-clean at every level, installed with dpkg into a scratch root
/// (its own dpkg database, maintainer scripts run chrootless with DPKG_ROOT set) where the installed
/// `dataplane config check` accepts the installed examples, and purged again without a trace. One package
/// serves the class's tests (built once, about 10 CPU-seconds; lintian about 5).
/// </summary>
public sealed class DebianPackageTests(DebianPackage package, ITestOutputHelper output) : IClassFixture<DebianPackage>
{
    [Fact]
    public void Make_deb_names_the_package_after_the_git_description()
    {
        var version = Shell.Check(Path.Combine(Testbed.Root, "scripts", "version")).Trim();
        Assert.Matches(@"^[0-9][0-9A-Za-z.+~]*$", version);
        Assert.Equal($"dataplane_{version}_amd64.deb", Path.GetFileName(package.Deb));
        var fields = Shell.Check("dpkg-deb", "-f", package.Deb, "Package", "Version", "Architecture", "Depends");
        output.WriteLine(fields);
        Assert.Contains("Package: dataplane\n", fields);
        Assert.Contains($"Version: {version}\n", fields);
        Assert.Contains("Architecture: amd64\n", fields);
        // zlib1g: `dataplane` links the system's zlib (the etcd client's gRPC brings compression in), found by dpkg-shlibdeps.
        Assert.Matches(@"Depends: libc6 \(>= [0-9.]+\), zlib1g \(>= [0-9:.]+\), iproute2", fields);
    }

    [Fact]
    public void Lintian_finds_nothing_at_any_level()
    {
        // -E/-W by default; --display-info, --pedantic and --display-experimental add every other level.
        var r = Shell.Run("lintian", ["--display-info", "--pedantic", "--display-experimental", package.Deb], TimeSpan.FromMinutes(5));
        output.WriteLine($"lintian --display-info --pedantic --display-experimental {Path.GetFileName(package.Deb)}: exit {r.ExitCode}\n{r.Output}");
        var tags = r.Output.Split('\n').Where(l => l.Length > 2 && l[1] == ':' && "EWIPXO".Contains(l[0])).ToList();
        Assert.True(tags.Count == 0, string.Join('\n', tags));
        Assert.Equal(0, r.ExitCode);
    }

    [Fact]
    public void Installed_config_check_accepts_the_installed_examples()
    {
        var r = package.Root;
        var examples = Path.Combine(r, "usr", "share", "doc", "dataplane", "examples");
        foreach (var (file, kind) in new[] { ("lma.json", "LMA"), ("mag1.json", "MAG"), ("mag2.json", "MAG"), ("policy.json", "policy") })
        {
            var check = Shell.Run(Path.Combine(r, "usr", "bin", "dataplane"), ["config", "check", Path.Combine(examples, file)], TimeSpan.FromSeconds(30));
            output.WriteLine(check.Output.Trim());
            Assert.True(check.ExitCode == 0, $"installed dataplane config check {file}: exit {check.ExitCode}\n{check.Output}");
            Assert.Contains($"{file}: ok ({kind}", check.Stdout);
        }
        // And it still refuses a broken one (the installed executable is the real checker, not a stub).
        var broken = Path.Combine(package.Scratch, "broken-mag.json");
        File.WriteAllText(broken, File.ReadAllText(Path.Combine(examples, "mag1.json")).Replace("\"2001:db8:100:1::2\"", "\"not-an-address\""));
        var bad = Shell.Run(Path.Combine(r, "usr", "bin", "dataplane"), ["config", "check", broken], TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("proxyCareOfAddress", bad.Output);
    }

    [Fact]
    public void The_package_puts_every_part_where_the_issue_and_the_documentation_say()
    {
        var r = package.Root;
        string P(string path) => Path.Combine(r, path.TrimStart('/'));
        Assert.Contains("Status: install ok installed", Shell.Check("dpkg", $"--root={r}", "-s", "dataplane"));

        foreach (var exe in new[] { "/usr/bin/dataplane", "/usr/bin/dataplane-probe", "/usr/lib/dataplane/qemu-ifup",
                     "/usr/lib/dataplane/qemu-ifdown", "/usr/lib/dataplane/vif-pmip", "/usr/lib/dataplane/libvirt-qemu", "/usr/lib/dataplane/libvirt-events" })
            Assert.True((File.GetUnixFileMode(P(exe)) & UnixFileMode.UserExecute) != 0, $"{exe} is not executable");
        // Where Xen and libvirt look for their scripts.
        Assert.Equal("/usr/lib/dataplane/vif-pmip", new FileInfo(P("/etc/xen/scripts/vif-pmip")).LinkTarget);
        Assert.Equal("/usr/lib/dataplane/libvirt-qemu", new FileInfo(P("/etc/libvirt/hooks/qemu.d/dataplane")).LinkTarget);
        foreach (var unit in new[] { "dataplane-mag.service", "dataplane-lma.service", "dataplane-libvirt-events.service" })
            Assert.Equal(File.ReadAllText(Path.Combine(Testbed.Root, "deploy", "systemd", unit)), File.ReadAllText(P($"/lib/systemd/system/{unit}")));
        Assert.True(Directory.Exists(P("/etc/dataplane")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(P("/etc/dataplane")));
        Assert.Equal(File.ReadAllText(Path.Combine(Testbed.Root, "deploy", "prometheus", "dataplane-alerts.yml")),
            File.ReadAllText(P("/usr/share/dataplane/prometheus/dataplane-alerts.yml")));
        foreach (var doc in new[] { "copyright", "changelog.gz", "examples/libvirt-domain.xml", "examples/libvirt-hook.conf" })
            Assert.True(File.Exists(P($"/usr/share/doc/dataplane/{doc}")), $"/usr/share/doc/dataplane/{doc} missing");

        // The man page is the executable's own help, every subcommand included.
        var man = Shell.Check("zcat", P("/usr/share/man/man8/dataplane.8.gz"));
        Assert.StartsWith(".TH DATAPLANE 8", man);
        foreach (var cmd in new[] { "mag", "lma", "ctl", "ctl port add", "ctl capture", "config check" })
            Assert.Contains($".SS \"dataplane {cmd}\"", man);
        Assert.Contains(".TH DATAPLANE-PROBE 1", Shell.Check("zcat", P("/usr/share/man/man1/dataplane-probe.1.gz")));

        // dpkg's own integrity check of what it installed (md5sums).
        var verify = Shell.Run("dpkg", [$"--root={r}", "--verify", "dataplane"], TimeSpan.FromSeconds(60));
        Assert.True(verify.ExitCode == 0 && verify.Output.Trim().Length == 0, "dpkg --verify: " + verify.Output);
    }

    [Fact]
    public void Purging_removes_everything_it_installed()
    {
        // A second scratch root of its own, so the other tests keep theirs.
        var root = package.InstallInto("purge");
        Assert.True(File.Exists(Path.Combine(root, "usr", "bin", "dataplane")));
        // The daemons' state and logs, as systemd's StateDirectory/LogsDirectory would have made them.
        Directory.CreateDirectory(Path.Combine(root, "var", "lib", "dataplane"));
        File.WriteAllText(Path.Combine(root, "var", "lib", "dataplane", "mag.restart"), "3\n");
        var purge = Shell.Run("dpkg", [$"--root={root}", "--force-script-chrootless", "--log=/dev/null", "--purge", "dataplane"], TimeSpan.FromMinutes(2));
        Assert.True(purge.ExitCode == 0, purge.Output);
        // Nothing but the dpkg database and the directories holding it.
        string[] skeleton = [Path.Combine(root, "var"), Path.Combine(root, "var", "lib"), Path.Combine(root, "var", "lib", "dpkg")];
        var left = Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Where(p => !skeleton.Contains(p) && !p.StartsWith(skeleton[2] + "/", StringComparison.Ordinal))
            .ToList();
        Assert.True(left.Count == 0, "left behind: " + string.Join(", ", left));
        Assert.False(Directory.Exists(Path.Combine(root, "var", "lib", "dataplane")));
    }
}

/// <summary>
/// Builds the package once (scripts/build-deb into a scratch directory: the command `make deb` runs) and installs
/// it into a scratch root; everything is removed when the class is done.
/// </summary>
public sealed class DebianPackage : IDisposable
{

    public string Scratch { get; }
    public string Deb { get; }
    public string Root { get; }

    public DebianPackage()
    {
        var deps = Shell.Run(QemuGuest.InstallDeps, ["dpkg-dev", "lintian"], TimeSpan.FromMinutes(10));
        if (deps.ExitCode != 0) throw new InvalidOperationException($"install-deps failed:\n{deps.Output}");
        Scratch = Path.Combine(Path.GetTempPath(), RunNames.Next("dp-deb-"));
        Directory.CreateDirectory(Scratch);
        try
        {
            var build = Shell.Run(Path.Combine(Testbed.Root, "scripts", "build-deb"), ["--out", Path.Combine(Scratch, "out")], TimeSpan.FromMinutes(5));
            if (build.ExitCode != 0) throw new InvalidOperationException($"scripts/build-deb failed:\n{build.Output}");
            Deb = build.Stdout.Trim();
            Root = InstallInto("root");
        }
        catch
        {
            Directory.Delete(Scratch, recursive: true);
            throw;
        }
    }

    /// <summary>A fresh scratch root with an empty dpkg database, the package installed into it.</summary>
    public string InstallInto(string name)
    {
        var root = Path.Combine(Scratch, name);
        var admin = Path.Combine(root, "var", "lib", "dpkg");
        Directory.CreateDirectory(Path.Combine(admin, "info"));
        Directory.CreateDirectory(Path.Combine(admin, "updates"));
        File.WriteAllText(Path.Combine(admin, "status"), "");
        File.WriteAllText(Path.Combine(admin, "available"), "");
        // --force-depends: libc6 and iproute2 are on the host, not in this root's database.
        var install = Shell.Run("dpkg", [$"--root={root}", "--force-depends", "--force-script-chrootless", "--log=/dev/null", "-i", Deb],
            TimeSpan.FromMinutes(2));
        if (install.ExitCode != 0) throw new InvalidOperationException($"dpkg --root={root} -i {Deb} failed:\n{install.Output}");
        return root;
    }

    public void Dispose() => Directory.Delete(Scratch, recursive: true);
}
