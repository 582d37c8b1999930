// The namespace tests time real packets on a two-core machine: one at a time keeps their timing meaningful.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
