# DataPlane: the PMIPv6 userspace switch. `make help` lists the targets.
SHELL := /bin/bash
DOTNET ?= dotnet
CONFIG ?= Release
SLN := DataPlane.sln
# Long test runs print progress per test so a stuck test is visible in CI logs.
TEST_LOGGER ?= console;verbosity=normal

.PHONY: help deps build test bench handover perf lma-scale deb clean fuzz soak

help:
	@echo "make build   - build everything ($(CONFIG))"
	@echo "make test    - install test dependencies, build, run every test tier"
	@echo "make bench   - BenchmarkDotNet micro-benchmarks (perf/)"
	@echo "make handover - handover latency vs MAG-LMA delay, from the deterministic simulation"
	@echo "make demo    - the README's run-it: testbed, a VM migrated at the seed's four RTTs, tables and plots"
	@echo "make experiment - the full seed experiment, 70 migrations per RTT (EXPERIMENT_ARGS)"
	@echo "make perf    - iperf3/ping through the kernel bridge+routing and through DataPlane, ratios (PERF_ARGS)"
	@echo "make deb     - the Debian package artifacts/deb/dataplane_<version>_amd64.deb (version: scripts/version)"
	@echo "make fuzz    - afl++ on every parser and data path entry point (FUZZ_SECONDS per target, FUZZ_TARGETS)"
	@echo "make soak    - 100,000 VMs churned through the simulation and through real daemons (SOAK_VMS)"
	@echo "make lma-scale - the LMA with and without etcd: PBUs per core, PBA latency, 1M bindings' memory, a 10,000-VM storm (LMA_SCALE_ARGS)"
	@echo "make clean   - remove build output"

deps:
	@scripts/install-deps

# The daemons/CLI and the probe are also published as native executables (artifacts/publish/): that
# is what the testbed, the hotplug scripts, the demo and the Debian package run.
PUBLISH := artifacts/publish

build:
	$(DOTNET) build $(SLN) -c $(CONFIG) --nologo -v quiet
	$(DOTNET) publish src/DataPlane.Host -c $(CONFIG) -r linux-x64 --nologo -v quiet -o $(PUBLISH)/dataplane
	$(DOTNET) publish src/DataPlane.Probe -c $(CONFIG) -r linux-x64 --nologo -v quiet -o $(PUBLISH)/dataplane-probe
	$(DOTNET) publish src/DataPlane.WanEmulator -c $(CONFIG) -r linux-x64 --nologo -v quiet -o $(PUBLISH)/dataplane-wan

# The whole log is kept in artifacts/test.log; on a failure every failed test is printed again at the end
# (scripts/test-failures), since CI shows only the tail of the output.
TEST_LOG := artifacts/test.log
test: deps build
	@mkdir -p $(dir $(TEST_LOG))
	set -o pipefail; $(DOTNET) test $(SLN) -c $(CONFIG) --no-build --nologo --logger "$(TEST_LOGGER)" 2>&1 | tee $(TEST_LOG) \
		|| { scripts/test-failures $(TEST_LOG); exit 1; }

bench: build
	$(DOTNET) run -c $(CONFIG) --no-build --project perf/DataPlane.Benchmarks -- --filter '*' $(BENCH_ARGS)

handover: build
	$(DOTNET) run -c $(CONFIG) --no-build --project perf/DataPlane.HandoverLatency -- $(HANDOVER_ARGS)

perf: deps build
	$(DOTNET) run -c $(CONFIG) --no-build --project perf/DataPlane.LineRate -- $(PERF_ARGS)

# The Debian package (scripts/build-deb): what `build` published, the scripts, units, examples, docs, man
# pages and alerting rules, as artifacts/deb/dataplane_<version>_amd64.deb, the version from the git
# description (scripts/version). Needs dpkg-dev. `make test` builds one of its own and checks it (lintian,
# installed into a scratch root: DebianPackageTests).
deb: build
	scripts/build-deb --out artifacts/deb

# The LMA's scale with and without etcd (docs/high-availability.md): starts its own etcd members on loopback.
# Results in perf/results/<date>-lma-etcd/ when LMA_SCALE_ARGS has --out. About 10 minutes here.
LMA_SCALE := artifacts/bin/DataPlane.LmaScale/$(CONFIG)/net10.0/dataplane-lma-scale
lma-scale: deps build
	$(LMA_SCALE) all $(LMA_SCALE_ARGS)

clean:
	rm -rf artifacts BenchmarkDotNet.Artifacts

# ---- Hardening: fuzzing and the churn soak (docs/security.md) -------------------------------------------------------
# afl++ through SharpFuzz, FUZZ_SECONDS per target (default 300); appends every target's executions to
# fuzz/executions.csv and prints the running totals. `make test` runs a 5-second smoke per target.
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?=
fuzz: deps
	scripts/fuzz --seconds $(FUZZ_SECONDS) $(if $(FUZZ_TARGETS),--targets "$(FUZZ_TARGETS)")

# 100,000 VMs through the simulation (machines and SA state flat) and through a real MAG and LMA on the
# namespace testbed (daemon memory flat); `make test` runs 5,000 and 1,000.
SOAK_VMS ?= 100000
soak: deps build
	DATAPLANE_SOAK_VMS=$(SOAK_VMS) $(DOTNET) test tests/DataPlane.Protocol.Tests -c $(CONFIG) --no-build --nologo --logger "console;verbosity=detailed" --filter "FullyQualifiedName~Churn_soak"
	DATAPLANE_SOAK_VMS=$(SOAK_VMS) $(DOTNET) test tests/DataPlane.EndToEnd.Tests -c $(CONFIG) --no-build --nologo --logger "console;verbosity=detailed" --filter "FullyQualifiedName~ChurnSoak"

# ---- The seed's evaluation: the experiment and the demo ----------------------------------------------------------
# `build` publishes dataplane-wan (the link emulator and bulk stream behind the testbed's --delay and --memory-mb)
# and builds the experiment runner with the rest of the solution.
.PHONY: experiment demo
EXPERIMENT := artifacts/bin/DataPlane.Experiment/$(CONFIG)/net10.0/dataplane-experiment

# The full experiment: 70 migrations at each of the seed's four RTTs (about an hour here); results in
# perf/results/<UTC date-time>/ unless EXPERIMENT_ARGS has --out. Root.
experiment: deps build
	$(EXPERIMENT) run $(EXPERIMENT_ARGS)

# The README's "run it": installs, builds, brings the testbed up with a VM, runs a few migrations per RTT,
# prints the table beside the seed's, writes the plots, tears everything down. A few minutes. Root.
demo: deps build
	@scripts/demo $(DEMO_ARGS)
