using Dapper;
using Sentinel.Features.Ingestion;
using Sentinel.GraphSimulator;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// A delta round requests its next page while it writes the current one (DeltaRounds). The checkpoint must still move
/// page by page: a page that fails to write leaves the checkpoint at the page before it, at most the one page after it
/// was requested, and the next run resumes there and ends with every user — no page fetched twice, none skipped.
/// </summary>
public sealed class DeltaPagePrefetchTests(DeltaPagePrefetchTests.Fixture fixture) : IClassFixture<DeltaPagePrefetchTests.Fixture>
{
    private const int PageSize = 10;

    public sealed class Fixture : SimulatorFixture
    {
        protected override void ConfigureSimulator(SimulatorOptions options) => options.DirectoryPageSize = PageSize;
    }

    [Fact]
    public async Task A_page_that_fails_to_write_keeps_the_checkpoint_before_it_and_the_next_run_resumes_there()
    {
        // The third page's transaction fails (each page commits its rows and its nextLink in one transaction).
        await using (var c = await fixture.OpenAsync())
            await c.ExecuteAsync("""
                CREATE TABLE prefetch_test_pages (tx bigint PRIMARY KEY);
                CREATE FUNCTION prefetch_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO prefetch_test_pages VALUES (txid_current()) ON CONFLICT DO NOTHING;
                    IF (SELECT count(*) FROM prefetch_test_pages) > 2 THEN RAISE EXCEPTION 'injected failure on the third page'; END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER prefetch_test_fail BEFORE INSERT ON msgraph_users FOR EACH ROW EXECUTE FUNCTION prefetch_test_fail();
                """);
        await fixture.ResetStatsAsync();
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => fixture.SendAsync(new IngestUsersDelta.Command()));
        Assert.Contains("injected failure on the third page", failure.ToString());

        var written = await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_users");
        Assert.InRange(written, PageSize, 2 * PageSize); // two pages' users (a page may repeat an id)
        var checkpoint = await fixture.ScalarAsync<string?>("SELECT next_link FROM msgraph_delta_state WHERE resource_type = 'users' AND partition_key = 'tenant'");
        Assert.NotNull(checkpoint); // page 2's nextLink, committed with page 2's rows
        // pages 1–3, and at most page 4, requested while page 3 was being written
        var firstRequests = UsersDeltaRequests(await fixture.StatsAsync());
        Assert.InRange(firstRequests, 3, 4);

        await using (var c = await fixture.OpenAsync())
            await c.ExecuteAsync("DROP TRIGGER prefetch_test_fail ON msgraph_users; DROP FUNCTION prefetch_test_fail(); DROP TABLE prefetch_test_pages");
        await fixture.ResetStatsAsync();
        var resumed = await fixture.SendAsync(new IngestUsersDelta.Command());

        // Resumed at page 3: every page of the rest requested once.
        Assert.Equal(resumed.Pages, UsersDeltaRequests(await fixture.StatsAsync()));
        await GroundTruth.AssertMatchesAsync(fixture, "users");

        // A whole round from the start: the resumed round read exactly what the two committed pages had not.
        await using (var c = await fixture.OpenAsync())
            await c.ExecuteAsync("DELETE FROM msgraph_delta_state WHERE resource_type = 'users'");
        var whole = await fixture.SendAsync(new IngestUsersDelta.Command());
        Assert.True(resumed.Users < whole.Users, $"the resumed round read {resumed.Users} of {whole.Users} users: it started over");
        Assert.Equal(whole.Users, written + resumed.Users);
        await GroundTruth.AssertMatchesAsync(fixture, "users");
    }

    private static long UsersDeltaRequests(System.Text.Json.JsonElement stats) =>
        stats.GetProperty("requestsByEndpoint").TryGetProperty("users/delta", out var n) ? n.GetInt64() : 0;
}
