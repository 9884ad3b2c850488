namespace Sentinel.Tests.Ingestion;

/// <summary>
/// The small tenant (seed 42) ingested once by the graph_ingest executor, views refreshed as its last phase: the
/// stored picture the dashboard and the inventory lists read. Shared by the read-side snapshot tests.
/// </summary>
public sealed class IngestedTenantFixture : SimulatorFixture
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var (outcome, _) = await IngestAsync();
        if (outcome.Partial is not null) throw new InvalidOperationException($"the fixture's ingest ended partial: {outcome.Partial}");
    }
}

[CollectionDefinition(Name)]
public sealed class IngestedTenantCollection : ICollectionFixture<IngestedTenantFixture>
{
    public const string Name = "ingested-tenant";
}
