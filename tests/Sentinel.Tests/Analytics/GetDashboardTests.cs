using Sentinel.Features.Analytics;
using Sentinel.TestSupport;
using Sentinel.Tests.Ingestion;

namespace Sentinel.Tests.Analytics;

/// <summary>The dashboard query over the ingested small tenant, through the mediator.</summary>
[Collection(IngestedTenantCollection.Name)]
public sealed class GetDashboardTests(IngestedTenantFixture fixture)
{
    [Fact]
    public async Task Dashboard_shows_the_posture_inventory_and_top_exposed_drives_of_the_ingested_tenant()
    {
        var dashboard = await fixture.SendAsync(new GetDashboard.Query(TopN: 5));

        // The refresh and data-change stamps are the database's clock (clock_timestamp() in triggers and refreshes),
        // not the injected one: those are scrubbed; run days and metrics are not dates and stay.
        Snapshot.Match(dashboard);
        Assert.NotNull(dashboard.LastRefreshedAt);
    }
}
