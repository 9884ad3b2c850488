using System.Net;
using System.Text.RegularExpressions;

namespace Sentinel.Web.Tests;

/// <summary>Dashboard numbers against direct SQL, inventory filters behind them, paging, CSV, item detail, bad input.</summary>
[Collection(SeededWebCollection.Name)]
public sealed class PagesTests(SeededWebFixture fx)
{
    private static string Metric(string html, string key)
    {
        var m = Regex.Match(html, $"data-metric=\"{key}\" href=\"([^\"]+)\">([0-9,]+)</a>");
        Assert.True(m.Success, $"metric {key} not on the page");
        return m.Groups[2].Value.Replace(",", "") + "|" + WebUtility.HtmlDecode(m.Groups[1].Value);
    }

    [Theory]
    [InlineData("anonymous_links", "SELECT count(*) FROM msgraph_drive_item_permissions WHERE deleted_at IS NULL AND link_scope = 'anonymous'", 2)]
    [InlineData("anonymous_links_never_expire", "SELECT count(*) FROM msgraph_drive_item_permissions WHERE deleted_at IS NULL AND link_scope = 'anonymous' AND link_expiration_dt IS NULL", 1)]
    [InlineData("organization_links", "SELECT count(*) FROM msgraph_drive_item_permissions WHERE deleted_at IS NULL AND link_scope = 'organization'", 1)]
    [InlineData("external_permissions", "SELECT count(DISTINCT (permission_id, item_id)) FROM msgraph_drive_item_permission_grants WHERE deleted_at IS NULL AND is_external", 1)]
    [InlineData("unique_permission_items", "SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL AND has_unique_permissions", 3)]
    [InlineData("anonymous_items", "SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL AND NOT is_folder AND permission_root_id IN (SELECT item_id FROM v_root_permissions WHERE link_scope = 'anonymous')", 2)]
    [InlineData("deleted_drive_items", "SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NOT NULL", 1)]
    [InlineData("deleted_users", "SELECT count(*) FROM msgraph_users WHERE deleted_at IS NOT NULL", 1)]
    [InlineData("guest_users", "SELECT count(*) FROM msgraph_users WHERE deleted_at IS NULL AND user_type = 'Guest'", 1)]
    public async Task Each_dashboard_number_equals_sql_and_links_to_exactly_those_rows(string metric, string sql, long expected)
    {
        var reader = await fx.SignInAsync(WebFixture.Reader);
        var html = await reader.Http.GetStringAsync("/");
        var parts = Metric(html, metric).Split('|', 2);
        var shown = long.Parse(parts[0]);
        Assert.Equal(expected, await fx.ScalarAsync<long>(sql));
        Assert.Equal(expected, shown);

        var csv = await reader.Http.GetStringAsync(parts[1] + "&format=csv");
        var rows = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length - 1;
        if (metric is "unique_permission_items")
            Assert.Equal(expected, rows);
        else
            Assert.Equal(expected, rows);
    }

    [Fact]
    public async Task The_dashboard_shows_permission_coverage_of_the_hierarchy_roots_with_an_eta_at_the_daily_budget()
    {
        var reader = await fx.SignInAsync(WebFixture.Reader);
        var html = await reader.Http.GetStringAsync("/");
        var roots = await fx.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL AND has_unique_permissions");
        var scanned = await fx.ScalarAsync<long>("""
            SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL AND has_unique_permissions
               AND permissions_last_synced_at >= now() - interval '24 hours'
            """);
        Assert.Contains($"data-coverage-roots=\"{roots}\" data-coverage-scanned=\"{scanned}\"", html);
        // 3 unscanned roots × 5 RU at the smallest tier's 1,200,000 RU/day (no graph_ru_budget configured here)
        if (await fx.ScalarAsync<bool>("SELECT to_regclass('graph_ru_budget') IS NULL")) Assert.Contains("1,200,000 RU/day", html);
        Assert.Matches("ETA \\d+ min", html);
    }

    [Fact]
    public async Task The_dashboard_shows_when_the_cache_was_refreshed_as_a_local_time_element()
    {
        var reader = await fx.SignInAsync(WebFixture.Reader);
        var html = await reader.Http.GetStringAsync("/");
        Assert.Matches("Cached \\(DB\\) — last refreshed at <time datetime=\"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\" data-local>", html);
    }

    [Fact]
    public async Task Inventory_pages_with_keyset_paging_cover_every_row_once()
    {
        var reader = await fx.SignInAsync(WebFixture.Reader);
        var seen = new List<string>();
        string? url = "/inventory/permissions?limit=2&deleted=all";
        while (url is not null)
        {
            var html = await reader.Http.GetStringAsync(url);
            seen.AddRange(Regex.Matches(html, "data-permission-row=\"([^\"]+)\"").Select(m => m.Groups[1].Value));
            var next = Regex.Match(html, "data-testid=\"next-page\" href=\"([^\"]+)\"");
            url = next.Success ? WebUtility.HtmlDecode(next.Groups[1].Value) : null;
        }
        Assert.Equal(6, seen.Count);
        Assert.Equal(6, seen.Distinct().Count());
    }

    [Fact]
    public async Task Search_finds_items_by_name_or_path_and_deleted_rows_carry_a_badge()
    {
        var reader = await fx.SignInAsync(WebFixture.Reader);
        var html = await reader.Http.GetStringAsync("/inventory/items?q=reports%2Fold&deleted=all");
        Assert.Contains("old.txt", html);
        Assert.Contains("badge-deleted", html);
        Assert.DoesNotContain("budget.xlsx", html);
        var live = await reader.Http.GetStringAsync("/inventory/items?q=reports&deleted=exclude");
        Assert.DoesNotContain("old.txt", live);
        Assert.Contains("budget.xlsx", live);
    }

    [Fact]
    public async Task Item_detail_shows_breadcrumbs_and_expands_group_grants_to_members()
    {
        var reader = await fx.SignInAsync(WebFixture.Reader);
        var html = await reader.Http.GetStringAsync("/inventory/items/d1/i1");
        Assert.Contains("Reports", html);
        Assert.Contains("Finance Team", html);
        Assert.Contains("Alice Admin", html);
        Assert.Contains("Bob Builder", html);
    }

    [Theory]
    [InlineData("/inventory/items?sort=bogus", "sort")]
    [InlineData("/inventory/items?cursor=not-a-cursor", "cursor")]
    [InlineData("/inventory/permissions?link_scope=everyone", "link_scope")]
    [InlineData("/inventory/users?deleted=maybe", "deleted")]
    [InlineData("/inventory/items?limit=100000", "limit")]
    [InlineData("/inventory/items?limit=201&format=html", "limit")]
    [InlineData("/changes?from=yesterday", "from")]
    [InlineData("/changes?to=2026-13-01", "to")]
    [InlineData("/changes?limit=500", "limit")]
    public async Task Bad_list_input_gets_a_400_page_naming_the_field(string url, string field)
    {
        var reader = await fx.SignInAsync(WebFixture.Reader);
        using var response = await reader.Http.GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"<strong>{field}</strong>", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/inventory/items/d1/nope")]
    [InlineData("/inventory/groups/nope")]
    [InlineData("/runs/99999999-0000-0000-0000-000000000000")]
    [InlineData("/jobs/99999999-0000-0000-0000-000000000000")]
    [InlineData("/runs/not-a-guid")]
    public async Task Bogus_ids_in_urls_get_a_404_page(string url)
    {
        var admin = await fx.SignInAsync(WebFixture.Admin);
        using var response = await admin.Http.GetAsync(url);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task An_invalid_schedule_re_renders_the_form_with_field_messages_and_writes_nothing()
    {
        var admin = await fx.SignInAsync(WebFixture.Admin);
        var token = await admin.CsrfTokenAsync();
        var before = await fx.ScalarAsync<long>("SELECT count(*) FROM job_schedules");
        using var response = await admin.Http.PostAsync($"/jobs/{Seed.JobId}/schedules", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token, ["CronExpr"] = "61 * * * *", ["TimeZone"] = "Mars/Olympus", ["Enabled"] = "true",
        }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("data-field-error=\"cron_expr\"", html);
        Assert.Contains("data-field-error=\"time_zone\"", html);
        Assert.Contains("value=\"61 * * * *\"", html);
        Assert.Equal(before, await fx.ScalarAsync<long>("SELECT count(*) FROM job_schedules"));
    }

    [Fact]
    public async Task Malformed_config_json_and_oversized_fields_are_400s_naming_the_field()
    {
        var admin = await fx.SignInAsync(WebFixture.Admin);
        var token = await admin.CsrfTokenAsync();
        var before = await fx.ScalarAsync<long>("SELECT count(*) FROM jobs");
        using var form = await admin.Http.PostAsync("/jobs/new", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token, ["JobType"] = "graph_ingest", ["Name"] = new string('x', 500), ["Config"] = "{not json",
        }));
        Assert.Equal(HttpStatusCode.BadRequest, form.StatusCode);
        var html = await form.Content.ReadAsStringAsync();
        Assert.Contains("data-field-error=\"config\"", html);
        Assert.Contains("data-field-error=\"name\"", html);

        var api = new HttpRequestMessage(HttpMethod.Post, "/api/schedules")
        {
            Content = new StringContent($"{{\"job_id\":\"{Seed.JobId}\",\"cron_expr\":\"every day\",\"time_zone\":\"Nowhere/Land\"}}", System.Text.Encoding.UTF8, "application/json"),
        };
        api.Headers.Add("X-CSRF-TOKEN", token);
        using var apiResponse = await admin.Http.SendAsync(api);
        Assert.Equal(HttpStatusCode.BadRequest, apiResponse.StatusCode);
        var body = await apiResponse.Content.ReadAsStringAsync();
        Assert.Contains("\"cron_expr\"", body);
        Assert.Contains("\"time_zone\"", body);

        var broken = new HttpRequestMessage(HttpMethod.Post, "/api/jobs") { Content = new StringContent("{\"job_type\": ", System.Text.Encoding.UTF8, "application/json") };
        broken.Headers.Add("X-CSRF-TOKEN", token);
        using var brokenResponse = await admin.Http.SendAsync(broken);
        Assert.Equal(HttpStatusCode.BadRequest, brokenResponse.StatusCode);
        Assert.Contains("validation_failed", await brokenResponse.Content.ReadAsStringAsync());
        Assert.Equal(before, await fx.ScalarAsync<long>("SELECT count(*) FROM jobs"));
    }

    [Fact]
    public async Task A_running_ingest_shows_its_phase_and_the_phases_running_alongside_it()
    {
        const string run = "22222222-0000-0000-0000-0000000000a1";
        await fx.ExecuteAsync("""
            INSERT INTO job_runs (run_id, job_id, started_at, status, triggered_by, progress)
            VALUES (@run::uuid, '11111111-0000-0000-0000-000000000001', now(), 'running', 'run_now',
                    '{"phase":"drives","alongside":["groups"],"users":10000}')
            """, new { run });
        try
        {
            var reader = await fx.SignInAsync(WebFixture.Reader);
            var html = await reader.Http.GetStringAsync($"/runs/{run}/progress");
            Assert.Matches(@"<td[^>]*>phase</td><td[^>]*>drives</td>", html);
            Assert.Matches(@"<td[^>]*>alongside</td><td[^>]*>groups</td>", html);
        }
        finally
        {
            await fx.ExecuteAsync("DELETE FROM job_runs WHERE run_id = @run::uuid", new { run });
        }
    }

    [Fact]
    public async Task Cron_preview_lists_the_next_five_runs_in_the_chosen_time_zone()
    {
        var reader = await fx.SignInAsync(WebFixture.Reader);
        var html = await reader.Http.GetStringAsync("/jobs/preview?CronExpr=30+2+*+*+*&TimeZone=Europe%2FBerlin");
        Assert.Equal(5, Regex.Matches(html, "<li>").Count);
        Assert.Contains("Europe/Berlin", html);
        Assert.Contains("02:30", html);
    }
}
