using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Sentinel.Web.Exports;

namespace Sentinel.Web.Tests;

/// <summary>Issue 14 §1, §3, §4 over HTTP: streamed, limited, audited CSV; reviews; the posture API; risk badges.</summary>
[Collection(SeededWebCollection.Name)]
public sealed class PostureWebTests(SeededWebFixture fx)
{
    [Fact]
    public async Task A_csv_export_streams_every_row_across_pages_neutralises_formulas_and_is_audited()
    {
        // 2,500 rows: three keyset pages of the export; one name a spreadsheet would run as a formula.
        await fx.ExecuteAsync("""
            INSERT INTO msgraph_users (id, display_name, user_principal_name, user_type, synced_at)
            SELECT 'bulk-' || g, CASE WHEN g = 7 THEN '=HYPERLINK("http://evil.example","x")' ELSE 'Bulk ' || g END, 'bulk' || g || '@contoso.onmicrosoft.com', 'Member', now()
              FROM generate_series(1, 2500) g
            ON CONFLICT DO NOTHING
            """);
        var reader = await fx.SignInAsync(WebFixture.Reader);
        using var response = await reader.Http.GetAsync("/inventory/users?q=bulk&format=csv", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(response.Content.Headers.ContentLength); // streamed (chunked), not buffered
        var lines = (await response.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2501, lines.Length);
        Assert.Contains(lines, l => l.StartsWith("bulk-7,\"'=HYPERLINK(", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(",=HYPERLINK", StringComparison.Ordinal));
        var audit = await fx.ScalarAsync<string>("""
            SELECT details::text FROM audit_events WHERE action = 'export.csv' AND entity_id = 'users' AND actor_upn = @Upn ORDER BY occurred_at DESC LIMIT 1
            """, new { Upn = WebFixture.Reader });
        using var details = JsonDocument.Parse(audit);
        Assert.Equal(2500, details.RootElement.GetProperty("rows").GetInt64());
        Assert.True(details.RootElement.GetProperty("completed").GetBoolean());
        Assert.Equal("bulk", details.RootElement.GetProperty("filter").GetProperty("q").GetString());
    }

    [Fact]
    public async Task Exports_over_the_concurrency_limit_get_429_with_retry_after_and_nothing_is_audited()
    {
        var gate = fx.WebServices.GetRequiredService<ExportGate>();
        var reader = await fx.SignInAsync(WebFixture.Reader);
        var before = await fx.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'export.csv'");
        var held = Enumerable.Range(0, gate.Limit).Select(_ => gate.TryEnter()).ToList();
        try
        {
            Assert.All(held, Assert.NotNull);
            using var refused = await reader.Http.GetAsync("/inventory/items?format=csv");
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("5", refused.Headers.RetryAfter?.Delta?.TotalSeconds.ToString());
            Assert.Equal(before, await fx.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'export.csv'"));
        }
        finally
        {
            held.ForEach(h => h?.Dispose());
        }
        using var accepted = await reader.Http.GetAsync("/inventory/items?format=csv");
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task An_operator_marks_changes_reviewed_and_the_dashboard_then_counts_only_newer_ones()
    {
        await fx.ExecuteAsync("""
            INSERT INTO posture_changes (run_id, recorded_at, kind, scope, risk, item_id, drive_id, site_id, item_name, item_path, before, after)
            VALUES (gen_random_uuid(), now() - interval '2 hours', 'link_created', 'anonymous', 0, 'i1', 'd1', 's1', 'budget.xlsx', '/Reports/budget.xlsx', NULL,
                    '{"scope":"anonymous","type":"edit","roles":["write"],"expires":null,"permission_id":"p1"}'),
                   (gen_random_uuid(), now() - interval '1 hour', 'grant_added', 'external', 4, 'i2', 'd1', 's1', 'plan.docx', '/Reports/plan.docx', NULL,
                    '{"roles":["write"],"via":"direct","permission_id":"p5","email":"gina@fabrikam.com"}');
            """);
        var op = await fx.SignInAsync(WebFixture.Operator);
        var dashboard = await op.Http.GetStringAsync("/");
        Assert.Contains("data-metric=\"changes_since_review\"", dashboard);
        Assert.Contains("Link created", dashboard);
        var changes = await op.Http.GetStringAsync("/changes?since_review=true&sort=risk");
        var newest = await fx.ScalarAsync<long>("SELECT max(change_id) FROM posture_changes");
        Assert.Contains($"name=\"up_to\" value=\"{newest}\"", changes);

        var token = await op.CsrfTokenAsync("/changes");
        using var bad = await op.Http.PostAsync("/changes/review", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["__RequestVerificationToken"] = token, ["up_to"] = (newest + 1000).ToString() }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("up_to", await bad.Content.ReadAsStringAsync());

        using var ok = await op.Http.PostAsync("/changes/review", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["__RequestVerificationToken"] = token, ["up_to"] = newest.ToString(), ["note"] = "morning review" }));
        Assert.True(ok.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.OK);
        Assert.Equal(1, await fx.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'posture.reviewed' AND actor_upn = @Upn", new { Upn = WebFixture.Operator }));
        Assert.Contains("Nothing new", await op.Http.GetStringAsync("/"));
        // Another reviewer's view is their own.
        var admin = await fx.SignInAsync(WebFixture.Admin);
        Assert.Contains("data-metric=\"changes_since_review\"", await admin.Http.GetStringAsync("/"));
        await fx.ExecuteAsync("DELETE FROM posture_reviews; DELETE FROM posture_changes;");
    }

    [Fact]
    public async Task The_posture_api_answers_json_pages_and_names_bad_fields()
    {
        var reader = await fx.SignInAsync(WebFixture.Reader);
        using var posture = JsonDocument.Parse(await reader.Http.GetStringAsync("/api/posture"));
        Assert.True(posture.RootElement.GetProperty("metrics").GetProperty("anonymous_links").GetInt64() >= 0);
        Assert.Equal(JsonValueKind.Object, posture.RootElement.GetProperty("oversharing").ValueKind);

        using var access = JsonDocument.Parse(await reader.Http.GetStringAsync("/api/access?principal=alice%40contoso.com&limit=1"));
        Assert.Equal("u1", access.RootElement.GetProperty("principal").GetProperty("id").GetString());
        Assert.True(access.RootElement.GetProperty("total_items").GetInt64() >= 1);
        Assert.Single(access.RootElement.GetProperty("items").GetProperty("rows").EnumerateArray());

        using var changes = await reader.Http.GetAsync("/api/changes?limit=5");
        Assert.Equal(HttpStatusCode.OK, changes.StatusCode);
        using var badKind = await reader.Http.GetAsync("/api/changes?kind=bogus");
        Assert.Equal(HttpStatusCode.BadRequest, badKind.StatusCode);
        Assert.Contains("kind", (await badKind.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("details").EnumerateObject().Select(p => p.Name));
        using var noPrincipal = await reader.Http.GetAsync("/api/access");
        Assert.Equal(HttpStatusCode.BadRequest, noPrincipal.StatusCode);
        using var unknown = await reader.Http.GetAsync("/api/access?principal=nobody%40nowhere.example");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Permissions_list_shows_a_risk_badge_with_its_explanation_riskiest_first()
    {
        var reader = await fx.SignInAsync(WebFixture.Reader);
        var html = await reader.Http.GetStringAsync("/inventory/permissions");
        var ranks = System.Text.RegularExpressions.Regex.Matches(html, "data-risk=\"(\\d)\"").Select(m => int.Parse(m.Groups[1].Value)).ToList();
        Assert.NotEmpty(ranks);
        Assert.Equal(ranks.Order(), ranks);
        Assert.Contains("data-tip=\"An anyone link", html);
        Assert.DoesNotContain("📄", html);
    }
}
