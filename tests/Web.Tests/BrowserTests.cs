using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Sentinel.Web.Tests;

/// <summary>
/// Real Chromium against the real hosts: sign-in through the simulator's user picker, ingestion started from the
/// Admin page, dashboard numbers against SQL, schedule creation with preview, live verification after a simulator
/// mutation, role limits; every page screenshotted and checked for console errors.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class BrowserTests(BrowserFixture fx)
{
    private const float Timeout = 60_000;

    private sealed record Session(IBrowserContext Context, IPage Page, List<string> ConsoleErrors) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => new(Context.CloseAsync());
    }

    private async Task<Session> SignInAsync(string upn)
    {
        var context = await fx.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            IgnoreHTTPSErrors = false, ViewportSize = new ViewportSize { Width = 1440, Height = 1000 }, TimezoneId = "Europe/Berlin", Locale = "en-GB",
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(Timeout);
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error" && page.Url.StartsWith(fx.BaseUrl)) lock (errors) errors.Add($"{page.Url}: {m.Text}"); };
        page.PageError += (_, e) => { lock (errors) errors.Add($"{page.Url}: {e}"); };
        await page.GotoAsync(fx.BaseUrl + "/");
        // The simulator's Entra user picker (its HTTPS certificate is trusted through SENTINEL_CA_FILE on the server side;
        // the browser goes there directly, so it must accept the simulator's local CA).
        await page.Locator($"button[data-upn=\"{upn}\"]").ClickAsync();
        await page.WaitForURLAsync(new Regex("^" + Regex.Escape(fx.BaseUrl)));
        return new Session(context, page, errors);
    }

    private async Task ShotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(fx.ScreenshotDir, name + ".png"), FullPage = true });

    private async Task RunNowAndWaitForSuccessAsync(IPage page, Guid jobId)
    {
        await page.GotoAsync(fx.BaseUrl + "/admin");
        await page.Locator($"tr[data-job-id=\"{jobId}\"] [data-testid=run-now]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=flash]")).ToBeVisibleAsync();
        var runId = Guid.Empty;
        for (var i = 0; i < 100 && runId == Guid.Empty; i++)
        {
            runId = await fx.ScalarAsync<Guid?>("SELECT run_id FROM job_runs WHERE job_id = @jobId ORDER BY started_at DESC LIMIT 1", new { jobId }) ?? Guid.Empty;
            if (runId == Guid.Empty) await Task.Delay(200);
        }
        Assert.NotEqual(Guid.Empty, runId);
        await page.GotoAsync($"{fx.BaseUrl}/runs/{runId}");
        // The detail page polls (htmx) while the run is running and shows the final status when it ends.
        await Assertions.Expect(page.Locator("[data-testid=run-status]")).ToHaveAttributeAsync("data-status", "success", new() { Timeout = 120_000 });
    }

    [ChromiumFact]
    public async Task Admin_ingests_from_the_admin_page_and_the_dashboard_matches_sql()
    {
        await using var s = await SignInAsync(WebFixture.Admin);
        var page = s.Page;
        await Assertions.Expect(page.Locator("[data-testid=user-role]")).ToHaveTextAsync("Admin");

        await page.GotoAsync(fx.BaseUrl + "/admin");
        await Assertions.Expect(page.Locator("[data-testid=worker-status]")).ToHaveTextAsync("ok");
        await RunNowAndWaitForSuccessAsync(page, fx.IngestJobId);
        await ShotAsync(page, "run-detail");
        await RunNowAndWaitForSuccessAsync(page, fx.RefreshJobId);

        await page.GotoAsync(fx.BaseUrl + "/");
        await Assertions.Expect(page.Locator("[data-testid=freshness]")).ToContainTextAsync("Cached (DB) — last refreshed at");
        // Rendered by site.js in the viewer's zone (the context runs in Europe/Berlin).
        await Assertions.Expect(page.Locator("[data-testid=freshness] time")).ToContainTextAsync(new Regex("GMT\\+1|CET"));
        var checks = new Dictionary<string, string>
        {
            // links once per link (a copy held by a root that broke inheritance has the same id), permissions of live roots
            ["anonymous_links"] = "SELECT count(DISTINCT permission_id) FROM v_root_permissions WHERE link_scope = 'anonymous'",
            ["organization_links"] = "SELECT count(DISTINCT permission_id) FROM v_root_permissions WHERE link_scope = 'organization'",
            ["external_permissions"] = "SELECT count(*) FROM v_root_permissions WHERE external",
            ["unique_permission_items"] = "SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL AND has_unique_permissions",
            ["active_drive_items"] = "SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL",
            ["active_users"] = "SELECT count(*) FROM msgraph_users WHERE deleted_at IS NULL",
        };
        foreach (var (metric, sql) in checks)
        {
            var shown = (await page.Locator($"[data-metric={metric}]").InnerTextAsync()).Replace(",", "");
            Assert.Equal((await fx.ScalarAsync<long>(sql)).ToString(), shown);
        }
        Assert.True(await fx.ScalarAsync<long>(checks["anonymous_links"]) > 0, "the demo tenant has anyone links");
        await ShotAsync(page, "dashboard");

        // A number opens the inventory filtered to exactly its rows.
        await page.Locator("[data-metric=anonymous_links]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=filter-chips]")).ToContainTextAsync("link: anonymous");
        await ShotAsync(page, "inventory-permissions");
        foreach (var entity in new[] { "users", "groups", "sites", "drives", "items" })
        {
            await page.GotoAsync($"{fx.BaseUrl}/inventory/{entity}");
            await Assertions.Expect(page.Locator("h1")).ToBeVisibleAsync();
            await ShotAsync(page, "inventory-" + entity);
        }
        await page.GotoAsync(fx.BaseUrl + "/inventory/items?q=docx");
        await Assertions.Expect(page.Locator("[data-testid=row-count]")).Not.ToHaveTextAsync("0 rows on this page");

        await page.GotoAsync(fx.BaseUrl + "/runs");
        await ShotAsync(page, "runs");
        await page.GotoAsync(fx.BaseUrl + "/audit");
        await Assertions.Expect(page.Locator("[data-testid=audit-table]")).ToContainTextAsync("run");
        await ShotAsync(page, "audit");
        await page.GotoAsync(fx.BaseUrl + "/admin");
        await Assertions.Expect(page.Locator("[data-testid=worker-status]")).ToHaveTextAsync("ok");
        await ShotAsync(page, "admin");
        Assert.Empty(s.ConsoleErrors);
    }

    [ChromiumFact]
    public async Task Creating_a_schedule_shows_the_next_runs_and_persists()
    {
        await using var s = await SignInAsync(WebFixture.Admin);
        var page = s.Page;
        await page.GotoAsync($"{fx.BaseUrl}/jobs/{fx.RefreshJobId}");
        await page.Locator("[data-testid=cron-input]").FillAsync("15 3 * * 1");
        await page.Locator("[data-testid=tz-input]").FillAsync("Europe/Berlin");
        await Assertions.Expect(page.Locator("[data-testid=cron-preview] li")).ToHaveCountAsync(5);
        await Assertions.Expect(page.Locator("[data-testid=cron-preview]")).ToContainTextAsync("(Europe/Berlin)");
        await Assertions.Expect(page.Locator("[data-testid=cron-preview]")).ToContainTextAsync("Mon");
        await ShotAsync(page, "job-schedule-preview");
        await page.Locator("[data-testid=add-schedule]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=flash]")).ToContainTextAsync("15 3 * * 1");
        await Assertions.Expect(page.Locator("[data-testid=schedules-table]")).ToContainTextAsync("Europe/Berlin");
        Assert.Equal(1, await fx.ScalarAsync<long>("SELECT count(*) FROM job_schedules WHERE job_id = @id AND cron_expr = '15 3 * * 1' AND timezone = 'Europe/Berlin'", new { id = fx.RefreshJobId }));

        // An invalid cron shows the message in the preview and the form refuses it.
        await page.Locator("[data-testid=cron-input]").FillAsync("61 * * * *");
        await Assertions.Expect(page.Locator("[data-testid=cron-preview-error]")).ToBeVisibleAsync();
        await page.Locator("[data-testid=add-schedule]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-field-error=cron_expr]")).ToBeVisibleAsync();
        await page.GotoAsync(fx.BaseUrl + "/jobs");
        await ShotAsync(page, "jobs");
        // The refused form answers 400 on purpose (Chrome logs every 4xx document as a console error).
        s.ConsoleErrors.RemoveAll(e => e.Contains("status of 400"));
        Assert.Empty(s.ConsoleErrors);
    }

    [ChromiumFact]
    public async Task Verify_live_highlights_a_permission_added_in_the_tenant_since_the_last_scan()
    {
        await using var s = await SignInAsync(WebFixture.Operator);
        var page = s.Page;
        await RunNowAndWaitForSuccessAsync(page, fx.IngestJobId);
        var mutation = (await fx.Sim.MutateAsync(1, seed: 7, kinds: ["addLink"])).Single();
        var driveId = await fx.ScalarAsync<string>("SELECT drive_id FROM msgraph_drive_items WHERE id = @id", new { id = mutation.Id });
        await page.GotoAsync($"{fx.BaseUrl}/inventory/items/{driveId}/{mutation.Id}");
        await Assertions.Expect(page.Locator("[data-testid=cached-permissions]")).ToBeVisibleAsync();
        await page.Locator("[data-testid=verify-live]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=live-label]")).ToHaveTextAsync("Live (Graph)");
        await Assertions.Expect(page.Locator("tr[data-diff=added]")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("[data-testid=cached-permissions]")).ToBeVisibleAsync();
        await ShotAsync(page, "item-verify-live");

        // A failing live call (Graph answers 404 for an item only the cache knows) shows an inline error; the cached view stays.
        await fx.ExecuteAsync("""
            INSERT INTO msgraph_drive_items (id, drive_id, name, path, is_folder, synced_at) VALUES ('ghost-item', @driveId, 'ghost.txt', '/ghost.txt', false, now());
            INSERT INTO msgraph_drive_item_permissions (permission_id, drive_id, item_id, roles, link_type, link_scope, synced_at)
            VALUES ('ghost-perm', @driveId, 'ghost-item', '{read}', 'view', 'anonymous', now());
            """, new { driveId });
        await page.GotoAsync($"{fx.BaseUrl}/inventory/items/{driveId}/ghost-item");
        await page.Locator("[data-testid=verify-live]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=live-error]")).ToContainTextAsync("no longer exists");
        await Assertions.Expect(page.Locator("[data-testid=cached-permissions] tr[data-permission-id=ghost-perm]")).ToBeVisibleAsync();
        await ShotAsync(page, "item-verify-live-error");
        Assert.Empty(s.ConsoleErrors);
    }

    [ChromiumFact]
    public async Task A_reader_sees_no_admin_actions_and_gets_403_on_admin_urls()
    {
        await using var s = await SignInAsync(WebFixture.Reader);
        var page = s.Page;
        await Assertions.Expect(page.Locator("nav a[href=\"/admin\"]")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("nav a[href=\"/audit\"]")).ToHaveCountAsync(0);
        await page.GotoAsync(fx.BaseUrl + "/jobs");
        await Assertions.Expect(page.Locator("[data-testid=new-job]")).ToHaveCountAsync(0);
        foreach (var url in new[] { "/admin", "/audit", "/jobs/new" })
        {
            var response = await page.GotoAsync(fx.BaseUrl + url);
            Assert.Equal(403, response!.Status);
            await Assertions.Expect(page.Locator("[data-testid=forbidden]")).ToBeVisibleAsync();
        }
        await ShotAsync(page, "reader-403");
        s.ConsoleErrors.RemoveAll(e => e.Contains("status of 403"));
        Assert.Empty(s.ConsoleErrors);
    }

    [ChromiumFact]
    public async Task A_user_without_a_role_gets_the_403_page()
    {
        await using var s = await SignInAsync(WebFixture.NoRole);
        var page = s.Page;
        await Assertions.Expect(page.Locator("[data-testid=forbidden]")).ToContainTextAsync("no Princeton Sentinel role");
        await ShotAsync(page, "no-role-403");
        await page.Locator("button:has-text('Sign out')").ClickAsync();
        await page.WaitForURLAsync(new Regex("/account/signed-out$"));
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("You are signed out");
    }

    /// <summary>Issue 14: the Changes page after a sharing round, a review by an Operator, access by principal, the oversharing cards.</summary>
    [ChromiumFact]
    public async Task An_operator_reviews_the_changes_of_a_sharing_round_and_looks_up_who_can_reach_what()
    {
        await using var s = await SignInAsync(WebFixture.Operator);
        var page = s.Page;
        await RunNowAndWaitForSuccessAsync(page, fx.IngestJobId); // the baseline (or a no-op if another test ingested already)
        var before = await fx.ScalarAsync<long?>("SELECT max(change_id) FROM posture_changes") ?? 0;
        var shared = await fx.Sim.MutateAsync(2, seed: 41, kinds: ["shareAnyone"]);
        await fx.Sim.MutateAsync(6, seed: 42, kinds: ["addLink", "addGrant", "shareFolder", "removePermission", "breakInheritance"]);
        Assert.NotEmpty(shared);
        await RunNowAndWaitForSuccessAsync(page, fx.IngestJobId);
        await RunNowAndWaitForSuccessAsync(page, fx.RefreshJobId);
        Assert.True(await fx.ScalarAsync<long>("SELECT count(*) FROM posture_changes WHERE change_id > @before", new { before }) > 0);

        // The dashboard: changes since my last review, riskiest first, and the oversharing cards.
        await page.GotoAsync(fx.BaseUrl + "/");
        await Assertions.Expect(page.Locator("[data-testid=dashboard-review]")).ToContainTextAsync("Changes since your last review");
        await Assertions.Expect(page.Locator("[data-testid=oversharing]")).ToBeVisibleAsync();
        var neverExpire = (await page.Locator("[data-metric=oversharing_anyone_never_expire]").InnerTextAsync()).Replace(",", "");
        Assert.Equal((await fx.ScalarAsync<long>("SELECT value FROM mv_posture_oversharing WHERE card = 'anyone_never_expire'")).ToString(), neverExpire);
        await ShotAsync(page, "dashboard-posture");
        await page.Locator("[data-testid=oversharing]").ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(fx.ScreenshotDir, "oversharing-cards.png") });

        // The Changes page: newest first, with the anyone link just created among the rows, then riskiest first.
        await page.GotoAsync(fx.BaseUrl + "/changes");
        await Assertions.Expect(page.Locator($"[data-change-row]").First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=changes-table]")).ToContainTextAsync("Link created");
        await ShotAsync(page, "changes");
        await page.GotoAsync(fx.BaseUrl + "/changes?since_review=true&sort=risk");
        var firstKind = await page.Locator("[data-change-row]").First.GetAttributeAsync("data-kind");
        Assert.Contains(firstKind, new[] { "link_created", "reach_gained", "link_changed", "reach_changed" });

        // A review: "reviewed up to here" clears the dashboard's count for this reviewer.
        await page.Locator("[data-testid=mark-reviewed]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=flash]")).ToContainTextAsync("Marked as reviewed");
        await ShotAsync(page, "changes-reviewed");
        await page.GotoAsync(fx.BaseUrl + "/");
        await Assertions.Expect(page.Locator("[data-testid=dashboard-review]")).ToContainTextAsync("Nothing new");

        // Access by principal: the guest who can reach the most, then a member with their per-site counts and drill-down.
        await page.GotoAsync(fx.BaseUrl + "/access");
        await ShotAsync(page, "access-start");
        var member = await fx.ScalarAsync<string>("SELECT user_id FROM mv_principal_reach r JOIN msgraph_users u ON u.id = r.user_id WHERE u.user_type = 'Member' AND u.deleted_at IS NULL ORDER BY reach DESC, user_id LIMIT 1");
        await page.GotoAsync(fx.BaseUrl + "/access?principal=" + Uri.EscapeDataString(member));
        await Assertions.Expect(page.Locator("[data-testid=access-summary]")).ToBeVisibleAsync();
        var files = long.Parse((await page.Locator("[data-testid=access-files]").InnerTextAsync()).Replace(",", ""));
        Assert.Equal(await fx.ScalarAsync<long>("SELECT reach FROM mv_principal_reach WHERE user_id = @member", new { member }), files);
        await ShotAsync(page, "access-by-principal");
        await page.Locator("[data-site-row] a").First.ClickAsync();
        await Assertions.Expect(page.Locator("[data-access-item]").First).ToBeVisibleAsync();
        await ShotAsync(page, "access-site-drilldown");
        await page.GotoAsync(fx.BaseUrl + "/access/departing?user=" + Uri.EscapeDataString(member));
        await Assertions.Expect(page.Locator("h1")).ToContainTextAsync("OneDrive sharing");
        await ShotAsync(page, "access-departing");
        await page.GotoAsync(fx.BaseUrl + "/inventory/permissions");
        await ShotAsync(page, "inventory-permissions-risk");
        Assert.Empty(s.ConsoleErrors);
    }
}
