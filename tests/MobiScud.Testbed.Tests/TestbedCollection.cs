namespace MobiScud.Testbed.Tests;

/// <summary>Testbed tests build namespaces and OVS daemons: run them one at a time.</summary>
[CollectionDefinition("testbed", DisableParallelization = true)]
public sealed class TestbedCollection
{
}
