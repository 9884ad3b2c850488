using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// Issue 11 item 6: getAllSites also lists personal (OneDrive) sites, and never subsites. A OneDrive is ingested once,
/// through its owner (site_id NULL, owner deterministic), and not at all without include_onedrive; libraries of subsites
/// (and of their subsites) are ingested.
/// </summary>
public sealed class PersonalSitesAndSubsitesTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Personal_sites_are_onedrives_and_subsite_libraries_are_ingested_recursively()
    {
        Assert.NotEmpty(await fixture.Sim.MutateAsync(1, 1, ["createPersonalSites"]));
        var subsites = await fixture.Sim.MutateAsync(6, 2, ["createSubsite"]);
        Assert.True(subsites.Count >= 4);

        // Without OneDrives: no personal drive leaks in through its site.
        var (outcome, _) = await fixture.IngestAsync("""{"include_onedrive": false, "phases": ["users", "sites", "drives", "drive_items"]}""");
        Assert.Null(outcome.Partial);
        var sites = (IngestSites.Result)outcome.Summary["sites"]!;
        Assert.True(sites.PersonalSites > 0, "getAllSites listed no personal site: the test would prove nothing");
        Assert.Equal(subsites.Count, sites.Subsites);
        Assert.True(await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_sites WHERE is_personal") > 0);
        Assert.Equal(0, await fixture.ScalarAsync<long>("""
            SELECT count(*) FROM msgraph_drives d LEFT JOIN msgraph_sites s ON s.id = d.site_id
            WHERE d.deleted_at IS NULL AND (d.site_id IS NULL OR s.is_personal OR d.drive_type = 'business')
            """));
        // Every subsite's library is in, with its items.
        Assert.Equal(subsites.Count, await fixture.ScalarAsync<long>("""
            SELECT count(DISTINCT d.id) FROM msgraph_drives d JOIN msgraph_sites s ON s.id = d.site_id
            WHERE s.parent_site_id IS NOT NULL AND d.deleted_at IS NULL
              AND EXISTS (SELECT 1 FROM msgraph_drive_items i WHERE i.drive_id = d.id AND i.name = 'Plan.docx' AND i.path = '/Plans/Plan.docx')
            """));

        // With OneDrives: each once, through its owner, with no site — the truth's drives exactly.
        fixture.Clock.Advance(TimeSpan.FromHours(1));
        await fixture.IngestAsync("""{"phases": ["users", "sites", "drives", "drive_items"]}""");
        await GroundTruth.AssertMatchesAsync(fixture, "sites", "drives", "items");
        Assert.Equal(0, await fixture.ScalarAsync<long>(
            "SELECT count(*) FROM msgraph_drives WHERE deleted_at IS NULL AND drive_type = 'business' AND (site_id IS NOT NULL OR owner_id IS NULL)"));
    }
}
