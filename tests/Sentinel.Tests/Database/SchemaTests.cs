using Dapper;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Database;

public sealed class SchemaTests(SliceFixture fixture) : IClassFixture<SliceFixture>
{
    [Fact]
    public async Task Every_materialized_view_refreshes_concurrently_even_when_empty()
    {
        var views = await fixture.QueryAsync<string>("SELECT matviewname FROM pg_matviews WHERE schemaname = 'public' ORDER BY 1");
        Assert.Contains("mv_msgraph_inventory_summary", views);
        Assert.Contains("mv_msgraph_sharing_posture_summary", views);
        Assert.Contains("mv_latest_job_runs", views);
        foreach (var view in views)
            await fixture.ExecuteAsync($"REFRESH MATERIALIZED VIEW CONCURRENTLY {view}");
    }

    [Fact]
    public async Task Every_materialized_view_declares_its_dependencies_on_existing_tables()
    {
        var undeclared = await fixture.QueryAsync<string>("""
            SELECT matviewname FROM pg_matviews m
             WHERE schemaname = 'public' AND NOT EXISTS (SELECT 1 FROM mv_dependencies d WHERE d.mv_name = m.matviewname)
            """);
        Assert.Empty(undeclared);
        var dangling = await fixture.QueryAsync<string>("""
            SELECT table_name FROM mv_dependencies d
             WHERE NOT EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = 'public' AND t.tablename = d.table_name)
            """);
        Assert.Empty(dangling);
    }

    [Fact]
    public async Task Statement_level_triggers_touch_the_update_log_only_when_rows_change()
    {
        await fixture.ExecuteAsync("DELETE FROM table_update_log WHERE table_name = 'msgraph_sites'");
        await fixture.ExecuteAsync("UPDATE msgraph_sites SET name = 'x' WHERE id = 'nope'");
        Assert.Equal(0, await fixture.ScalarAsync<int>("SELECT count(*) FROM table_update_log WHERE table_name = 'msgraph_sites'"));

        await fixture.ExecuteAsync("INSERT INTO msgraph_sites (id, name) SELECT 'site-' || g, 'Site ' || g FROM generate_series(1, 500) g");
        Assert.Equal(1, await fixture.ScalarAsync<int>("SELECT count(*) FROM table_update_log WHERE table_name = 'msgraph_sites'"));

        var triggers = await fixture.QueryAsync<string>("""
            SELECT DISTINCT action_orientation FROM information_schema.triggers WHERE event_object_table LIKE 'msgraph_%'
            """);
        Assert.Equal(["STATEMENT"], triggers);
    }
}
