using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// Issue 11 (full load vs the COPY ceiling): a first full load writes each drive's first round by binary COPY
/// (FirstLoadCopy) instead of the page merge. The COPY must store exactly the rows the merge stores — every column,
/// deleted items included — whether the round comes parents first, children first across pages (paths filled in when
/// the parent arrives), or repeats an item across pages (the round goes back to the merge at that page).
/// </summary>
public sealed class FirstLoadCopyTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    private const string ItemsOnly = """{"phases": ["users", "sites", "drives", "drive_items"]}""";

    /// <summary>Every stored column except the sync time (the two loads run at different times).</summary>
    private const string RowsSql = """
        SELECT (id, drive_id, name, web_url, parent_id, path, is_folder, size, mime_type, file_hash_sha1, created_dt, modified_dt,
                created_by_user_id, last_modified_by_user_id, deleted_at IS NOT NULL, raw, is_root, c_tag, permissions_dirty,
                has_unique_permissions, permissions_differ, permission_root_id, permissions_last_synced_at, permission_verified_at)::text
        FROM msgraph_drive_items WHERE id <> 'placeholder' ORDER BY id
        """;

    private const string ResetSql = "TRUNCATE msgraph_drive_items CASCADE; DELETE FROM msgraph_delta_state WHERE resource_type = 'drive_items'";

    private static long Max(RecordingProgress progress, string counter) =>
        progress.Reports.Select(r => r.GetValueOrDefault(counter) is long n ? n : 0).DefaultIfEmpty(0).Max();

    public static TheoryData<string, int?, bool, bool, int> Shapes => new()
    {
        { "parents first", null, false, false, 41 },
        { "children first across pages", 3, true, false, 42 },
        { "an item repeated across pages", 4, false, true, 43 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task A_first_load_written_by_COPY_stores_exactly_the_rows_the_page_merge_stores(string shape, int? pageSize, bool childrenFirst, bool repeats, int seed)
    {
        // deleted, renamed, moved and shared items in the tenant before its first load
        await fixture.MutateAsync(60, seed);
        await fixture.SetFaultsAsync(new { drivePageSize = pageSize, driveFullRoundChildrenFirst = childrenFirst, driveFullRoundRepeats = repeats });
        try
        {
            await fixture.ExecuteAsync(ResetSql);
            var (copyOutcome, copy) = await fixture.IngestAsync(ItemsOnly);
            var copied = (await fixture.QueryAsync<string>(RowsSql)).ToList();
            // the phase's live/deleted counts (known from the COPYs when nothing else wrote) are the table's
            var counts = Assert.IsType<IngestDriveItemsDelta.Result>(copyOutcome.Summary["drive_items"]);
            Assert.Equal(await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL"), counts.LiveItems);
            Assert.Equal(await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NOT NULL"), counts.DeletedItems);
            Assert.Equal(repeats ? 0 : 1, Max(copy, "counts_from_copies")); // a repeat sends rounds to the merge: then they are counted
            await GroundTruth.AssertMatchesAsync(fixture, "items");

            // The same load through the merge: one row of another drive makes it not a first load.
            await fixture.ExecuteAsync(ResetSql + "; INSERT INTO msgraph_drive_items (id, drive_id, name) VALUES ('placeholder', 'placeholder-drive', 'x')");
            var (_, merge) = await fixture.IngestAsync(ItemsOnly);
            var merged = (await fixture.QueryAsync<string>(RowsSql)).ToList();
            await fixture.ExecuteAsync("DELETE FROM msgraph_drive_items WHERE id = 'placeholder'");

            Assert.Equal(0, Max(merge, "items_copied"));
            // A first load starts every drive's first round through $batch; the drives answered with one whole page are
            // written together (one COPY, one transaction per batch). A load on a table with rows goes drive by drive.
            var drives = await fixture.ScalarAsync<long>("SELECT count(DISTINCT drive_id) FROM msgraph_drive_items");
            Assert.Equal(await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drives WHERE deleted_at IS NULL"), Max(copy, "first_rounds_batched"));
            Assert.Equal(0, Max(merge, "first_rounds_batched"));
            if (pageSize is null)
            {
                Assert.True(Max(copy, "drives_merged_together") > 0, $"{shape}: no drive's first round was one page");
                Assert.True(Max(copy, "merge_transactions") < drives, $"{shape}: one transaction per drive");
            }
            var items = Max(copy, "items");
            var byCopy = Max(copy, "items_copied");
            Assert.True(byCopy > 0, $"{shape}: nothing was copied");
            // a repeat sends the rest of its round to the merge; otherwise every item is copied
            if (repeats) Assert.True(byCopy < items, $"{shape}: {byCopy} of {items} copied, the repeats never reached the COPY");
            else Assert.Equal(items, byCopy);
            Assert.True(copied.Any(r => r.Contains("\"deleted\"", StringComparison.Ordinal)), "the tenant had no deleted item to copy");
            Assert.Equal(merged.Count, copied.Count);
            Assert.Equal(merged, copied);
        }
        finally
        {
            await fixture.SetFaultsAsync(new { });
        }
    }

    /// <summary>
    /// A round with more folders than the COPY remembers (<see cref="FirstLoadCopy.MaxFolders"/>: 200,000 in production,
    /// 2 here) goes on by merge from the page after the one that crossed the limit: the pages copied before keep their
    /// rows, items copied before their parent arrived (children first) get their paths when it comes by merge or at the
    /// round's end, and the whole load stores exactly the rows the merge alone stores.
    /// </summary>
    [Theory]
    [InlineData(false, 51)]
    [InlineData(true, 52)]
    public async Task A_round_with_more_folders_than_the_COPY_remembers_goes_on_by_merge_with_the_same_rows(bool childrenFirst, int seed)
    {
        await fixture.MutateAsync(40, seed);
        await fixture.IngestAsync("""{"phases": ["users", "sites", "drives"]}""");
        await fixture.SetFaultsAsync(new { drivePageSize = 3, driveFullRoundChildrenFirst = childrenFirst });
        try
        {
            await fixture.ExecuteAsync(ResetSql);
            var run = new IngestRun(DateTimeOffset.UtcNow);
            var result = await fixture.SendAsync(new IngestDriveItemsDelta.Command(new GraphIngestOptions(), run) { FirstLoadMaxFolders = 2 });
            var copied = (await fixture.QueryAsync<string>(RowsSql)).ToList();
            var byCopy = run.Counters.GetValueOrDefault("items_copied");
            Assert.True(byCopy > 0, "nothing was copied");
            Assert.True(byCopy < result.Items, $"{byCopy} of {result.Items} items copied: no round went on by merge");
            Assert.Equal(await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL"), result.LiveItems);
            await GroundTruth.AssertMatchesAsync(fixture, "items");

            await fixture.ExecuteAsync(ResetSql + "; INSERT INTO msgraph_drive_items (id, drive_id, name) VALUES ('placeholder', 'placeholder-drive', 'x')");
            var mergeRun = new IngestRun(DateTimeOffset.UtcNow);
            await fixture.SendAsync(new IngestDriveItemsDelta.Command(new GraphIngestOptions(), mergeRun));
            var merged = (await fixture.QueryAsync<string>(RowsSql)).ToList();
            await fixture.ExecuteAsync("DELETE FROM msgraph_drive_items WHERE id = 'placeholder'");
            Assert.Equal(0, mergeRun.Counters.GetValueOrDefault("items_copied"));
            Assert.Equal(merged.Count, copied.Count);
            Assert.Equal(merged, copied);
        }
        finally
        {
            await fixture.SetFaultsAsync(new { });
        }
    }
}
