using Sentinel.Features.Changes;
using Sentinel.Features.Infrastructure;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Changes;

/// <summary>The change feed's time and page-size rules, through the mediator (the host passes the query string as typed).</summary>
public sealed class ListChangesTests(SliceFixture fixture) : IClassFixture<SliceFixture>, IAsyncLifetime
{
    public async Task InitializeAsync()
    {
        if (await fixture.ScalarAsync<long>("SELECT count(*) FROM posture_changes") > 0) return;
        // One change at the start, the middle and the last second of 2 March, one on 3 March.
        await fixture.ExecuteAsync("""
            INSERT INTO posture_changes (recorded_at, kind, scope, risk, item_id, item_name)
            SELECT t, 'link_created', 'anonymous', 1, 'i' || row_number() OVER (), 'file'
              FROM unnest(ARRAY['2026-03-02T00:00:00Z', '2026-03-02T12:00:00Z', '2026-03-02T23:59:59Z', '2026-03-03T00:00:00Z']::timestamptz[]) t
            """);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_date_covers_its_whole_utc_day_and_an_instant_is_exact()
    {
        var day = await fixture.SendAsync(new ListChanges.Query(From: "2026-03-02", To: "2026-03-02"));
        Assert.Equal(3, day.Rows.Count);
        var instants = await fixture.SendAsync(new ListChanges.Query(From: "2026-03-02T12:00:00Z", To: "2026-03-03T00:00:00Z"));
        Assert.Equal(2, instants.Rows.Count);
        var perDay = await fixture.SendAsync(new CountChangesPerDay.Query("2026-03-02", "2026-03-03"));
        Assert.Equal([(new DateOnly(2026, 3, 2), 3L), (new DateOnly(2026, 3, 3), 1L)], perDay.Select(d => (d.Date, d.Worsening)));
    }

    [Fact]
    public async Task Times_that_do_not_parse_are_rejected_naming_the_field_by_both_slices()
    {
        var list = await Assert.ThrowsAsync<RequestValidationException>(() => fixture.SendAsync(new ListChanges.Query(From: "yesterday", To: "2026-13-01")));
        Assert.Equal(["from must be a date (yyyy-MM-dd) or an ISO 8601 time"], list.Errors["from"]);
        Assert.Equal(["to must be a date (yyyy-MM-dd) or an ISO 8601 time"], list.Errors["to"]);
        var counts = await Assert.ThrowsAsync<RequestValidationException>(() => fixture.SendAsync(new CountChangesPerDay.Query(From: "soon")));
        Assert.Equal(["from must be a date (yyyy-MM-dd) or an ISO 8601 time"], counts.Errors["from"]);
    }

    [Fact]
    public async Task To_must_come_after_from()
    {
        var e = await Assert.ThrowsAsync<RequestValidationException>(() => fixture.SendAsync(new ListChanges.Query(From: "2026-03-03", To: "2026-03-01")));
        Assert.Equal(["to must be after from"], e.Errors["to"]);
    }

    [Fact]
    public async Task A_rendered_page_holds_at_most_200_rows_an_api_page_1000()
    {
        await fixture.SendAsync(new ListChanges.Query(Limit: 200, Html: true));
        var page = await Assert.ThrowsAsync<RequestValidationException>(() => fixture.SendAsync(new ListChanges.Query(Limit: 201, Html: true)));
        Assert.Equal(["limit must be between 1 and 200"], page.Errors["limit"]);
        await fixture.SendAsync(new ListChanges.Query(Limit: 1000));
        var api = await Assert.ThrowsAsync<RequestValidationException>(() => fixture.SendAsync(new ListChanges.Query(Limit: 1001)));
        Assert.Equal(["limit must be between 1 and 1000"], api.Errors["limit"]);
    }
}
