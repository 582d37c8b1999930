// Each test builds a whole testbed (five daemons' worth of namespaces and processes); running them one
// at a time keeps timings meaningful on a two-core machine and the logs readable.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
