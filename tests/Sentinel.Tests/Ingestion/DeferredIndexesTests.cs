using Dapper;
using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// Issue 11 (full load vs the COPY ceiling): the first full load of drive items runs without the secondary indexes
/// ingestion does not read and builds them once at the end (ItemIndexes, db/init 016) — whether the phase succeeds or is
/// stopped — and a run that died with indexes deferred has them built by the next drive-item phase. Afterwards the
/// table has exactly the indexes the migrations define.
/// </summary>
public sealed class DeferredIndexesTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    private const string ItemsOnly = """{"phases": ["users", "sites", "drives", "drive_items"]}""";

    private Task<List<(string Name, string Definition)>> IndexesAsync() => fixture.QueryAsync<(string, string)>(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'msgraph_drive_items' ORDER BY indexname");

    private static long Max(RecordingProgress progress, string counter) =>
        progress.Reports.Select(r => r.GetValueOrDefault(counter) is long n ? n : 0).DefaultIfEmpty(0).Max();

    [Fact]
    public async Task The_first_full_load_defers_the_secondary_indexes_builds_them_at_the_end_and_later_runs_keep_them()
    {
        await fixture.ExecuteAsync("TRUNCATE msgraph_drive_items CASCADE; DELETE FROM msgraph_delta_state WHERE resource_type = 'drive_items'");
        var defined = await IndexesAsync();
        Assert.Contains(defined, i => i.Name == "msgraph_drive_items_search_trgm_idx");

        var loadStarted = await fixture.ScalarAsync<DateTime>("SELECT now()");
        // While the phase writes, only the indexes ingestion reads exist.
        List<string>? during = null;
        var progress = new RecordingProgress
        {
            CancelWhen = f =>
            {
                if (during is null && Equals(f.GetValueOrDefault("phase"), "drive_items") && f.GetValueOrDefault("items") is long n && n > 0)
                    during = IndexesAsync().GetAwaiter().GetResult().Select(i => i.Name).ToList();
                return false;
            },
        };
        await fixture.IngestAsync(ItemsOnly, progress);

        Assert.NotNull(during);
        Assert.Equal(["msgraph_drive_items_deleted_folders_idx", "msgraph_drive_items_deleted_idx", "msgraph_drive_items_dirty_inheriting_idx",
                "msgraph_drive_items_drive_parent_idx", "msgraph_drive_items_pkey", "msgraph_drive_items_root_scan_idx"],
            during.Order(StringComparer.Ordinal));
        var deferred = Max(progress, "indexes_deferred");
        Assert.Equal(defined.Count - 6, deferred);
        // none at the end of the item phase: all concurrently after it (the permission phase's first)
        Assert.Equal(0, Max(progress, "indexes_rebuilt"));
        var concurrently = Assert.Single(progress.Audits, a => a.Action == "ingest.deferred_indexes_built");
        Assert.Contains($"\"built\":{deferred}", concurrently.Details);
        Assert.Equal(defined, await IndexesAsync());
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM ingest_deferred_indexes"));
        // ... and analysed, so what runs next is not planned on the statistics of the empty table.
        Assert.Equal(1, await fixture.ScalarAsync<long>(
            "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'msgraph_drive_items' AND last_analyze >= @LoadStarted", new { LoadStarted = loadStarted }));
        // The phase-end ANALYZE leaves the item JSON out; the VACUUM (ANALYZE) after the builds covers every column.
        Assert.Equal(["drive_id", "parent_id", "raw"], await fixture.QueryAsync<string>(
            "SELECT attname FROM pg_stats WHERE tablename = 'msgraph_drive_items' AND attname IN ('drive_id', 'parent_id', 'raw') ORDER BY attname"));
        await GroundTruth.AssertMatchesAsync(fixture, "drives", "items");

        // The table has rows now: an incremental run defers nothing.
        await fixture.MutateAsync(20, 3);
        var incremental = new RecordingProgress();
        await fixture.IngestAsync(ItemsOnly, incremental);
        Assert.Equal(0, Max(incremental, "indexes_deferred"));
        Assert.Equal(defined, await IndexesAsync());
        await GroundTruth.AssertMatchesAsync(fixture, "drives", "items");
    }

    [Fact]
    public async Task A_first_load_stopped_mid_phase_still_gets_its_indexes_and_a_run_that_died_with_them_deferred_is_repaired_by_the_next()
    {
        await fixture.ExecuteAsync("TRUNCATE msgraph_drive_items CASCADE; DELETE FROM msgraph_delta_state WHERE resource_type = 'drive_items'");
        var defined = await IndexesAsync();

        var stop = new RecordingProgress
        {
            CancelWhen = f => Equals(f.GetValueOrDefault("phase"), "drive_items") && f.GetValueOrDefault("items") is long n && n >= 100,
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fixture.IngestAsync("""{"drive_concurrency": 1}""", stop, stop.Cancellation.Token));
        Assert.True(await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items") > 0, "nothing was committed before the stop");
        Assert.Equal(defined, await IndexesAsync());
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM ingest_deferred_indexes"));

        // A process killed between the drop and the build leaves definitions behind (the same state, made by hand), and one
        // killed during a concurrent build an invalid index.
        await fixture.ExecuteAsync("""
            INSERT INTO ingest_deferred_indexes (index_name, table_name, definition)
            SELECT indexname, tablename, indexdef FROM pg_indexes WHERE indexname IN ('msgraph_drive_items_search_trgm_idx', 'msgraph_drive_items_verify_idx');
            DROP INDEX msgraph_drive_items_search_trgm_idx;
            UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'msgraph_drive_items_verify_idx'::regclass;
            """);
        var next = new RecordingProgress();
        await fixture.IngestAsync(ItemsOnly, next);
        Assert.Equal(2, Max(next, "indexes_rebuilt"));
        Assert.Equal(defined, await IndexesAsync());
        Assert.Equal(0, await fixture.ScalarAsync<long>(
            "SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid WHERE c.relname = 'msgraph_drive_items' AND NOT x.indisvalid"));

        // A concurrent build interrupted (the run stopped during its permission phase) leaves its index invalid: the next
        // build drops it and builds it again.
        await fixture.ExecuteAsync("""
            INSERT INTO ingest_deferred_indexes (index_name, table_name, definition)
            SELECT indexname, tablename, indexdef FROM pg_indexes WHERE indexname = 'msgraph_drive_items_search_trgm_idx';
            UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'msgraph_drive_items_search_trgm_idx'::regclass;
            """);
        Assert.Equal(1, (await fixture.SendAsync(new BuildDeferredIndexes.Command())).Built);
        Assert.True(await fixture.ScalarAsync<bool>("SELECT indisvalid FROM pg_index WHERE indexrelid = 'msgraph_drive_items_search_trgm_idx'::regclass"));
        Assert.Equal(0, Max(next, "indexes_deferred"));
        Assert.Equal(defined, await IndexesAsync());
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM ingest_deferred_indexes"));
        await GroundTruth.AssertMatchesAsync(fixture, "drives", "items");
    }

    [Fact]
    public async Task A_repair_leaves_the_indexes_to_a_concurrent_build_in_another_session_and_the_run_builds_them_once_it_is_gone()
    {
        await fixture.IngestAsync(ItemsOnly);
        var defined = await IndexesAsync();
        // Another run's concurrent build holds the builder lock; its index looks invalid while it is being built.
        await using var other = await fixture.OpenAsync();
        await other.ExecuteAsync("SELECT pg_advisory_lock(hashtextextended('sentinel.ingest_deferred_indexes', 0))");
        await fixture.ExecuteAsync("""
            INSERT INTO ingest_deferred_indexes (index_name, table_name, definition)
            SELECT indexname, tablename, indexdef FROM pg_indexes WHERE indexname = 'msgraph_drive_items_verify_idx';
            UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'msgraph_drive_items_verify_idx'::regclass;
            """);

        // The item phase's repair skips them; the run's own concurrent build waits for the other builder, then builds what
        // is left (the other lets go once the item phase is over).
        var next = new RecordingProgress
        {
            CancelWhen = f =>
            {
                if (Equals(f.GetValueOrDefault("phase"), "deferred_indexes") || Equals(f.GetValueOrDefault("phase"), "done"))
                    other.Execute("SELECT pg_advisory_unlock_all()");
                return false;
            },
        };
        var run = fixture.IngestAsync(ItemsOnly, next);
        Assert.Same(run, await Task.WhenAny(run, Task.Delay(TimeSpan.FromMinutes(2))));
        await run;
        Assert.Equal(0, Max(next, "indexes_rebuilt"));
        Assert.Single(next.Audits, a => a.Action == "ingest.deferred_indexes_built" && a.Details.Contains("\"built\":1"));
        Assert.Equal(defined, await IndexesAsync());
        Assert.True(await fixture.ScalarAsync<bool>("SELECT indisvalid FROM pg_index WHERE indexrelid = 'msgraph_drive_items_verify_idx'::regclass"));
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM ingest_deferred_indexes"));
    }
}
