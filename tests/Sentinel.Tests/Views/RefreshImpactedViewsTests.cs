using Sentinel.Features.Views;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Views;

public sealed class RefreshImpactedViewsTests(SliceFixture fixture) : IClassFixture<SliceFixture>
{
    [Fact]
    public async Task Should_refresh_only_views_whose_dependency_tables_changed_since_their_last_refresh()
    {
        var first = await fixture.SendAsync(new RefreshImpactedViews.Command());
        Assert.Contains(first.Refreshed, v => v.MvName == "mv_msgraph_inventory_summary" && v.Reason == "never_refreshed");
        Assert.Empty(first.UpToDate);

        var second = await fixture.SendAsync(new RefreshImpactedViews.Command());
        Assert.Empty(second.Refreshed);

        await fixture.ExecuteAsync("INSERT INTO msgraph_users (id, display_name, synced_at) VALUES ('u1', 'Uma', now())");
        var third = await fixture.SendAsync(new RefreshImpactedViews.Command());

        var refreshed = third.Refreshed.Select(v => v.MvName).ToHashSet();
        Assert.Contains("mv_msgraph_inventory_summary", refreshed);
        Assert.DoesNotContain("mv_latest_job_runs", refreshed);
        Assert.DoesNotContain("mv_msgraph_sharing_posture_summary", refreshed);
        Assert.All(third.Refreshed, v => Assert.Equal("dependencies_changed", v.Reason));
        Assert.Contains("mv_latest_job_runs", third.UpToDate);
        // Durations vary run to run; which views were refreshed, why, and which were left alone do not.
        Snapshot.Match(new[] { first, second, third }.Select(r => new { Refreshed = r.Refreshed.Select(v => new { v.MvName, v.Reason }), r.UpToDate }));
        Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT active FROM mv_msgraph_inventory_summary WHERE entity = 'users'"));
        // Every view a refresh touched is stamped after the change that made it stale.
        Assert.True(await fixture.ScalarAsync<bool>("""
            SELECT l.last_refreshed_at >= u.last_updated_at FROM mv_refresh_log l, table_update_log u
             WHERE l.mv_name = 'mv_msgraph_inventory_summary' AND u.table_name = 'msgraph_users'
            """));
    }

    [Fact]
    public async Task Force_refreshes_every_view()
    {
        await fixture.SendAsync(new RefreshImpactedViews.Command());
        var forced = await fixture.SendAsync(new RefreshImpactedViews.Command(Force: true));
        Assert.Empty(forced.UpToDate);
        Assert.All(forced.Refreshed, v => Assert.Equal("forced", v.Reason));
        Assert.Contains(forced.Refreshed, v => v.MvName == "mv_latest_job_runs");
    }
}
