// Dashboard / inventory load bench: N concurrent signed-in clients against the real web host.
//   dotnet run -c Release --project bench/Web -- --database-url postgres://postgres@127.0.0.1:5504/sentinel_bench \
//       [--generate-items 1000000] [--clients 16] [--seconds 20] [--skip-refresh]
// --generate-items fills an EMPTY migrated database with a synthetic tenant of that many drive items (SQL generate_series,
// about the shape of the simulator's `large` profile) and refreshes the dashboard views. Sign-in goes through the tenant
// simulator's Entra endpoints (identity only), exactly as in production.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Dapper;
using MediatR;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sentinel.Features.Database;
using Sentinel.Features.Infrastructure;
using Sentinel.GraphSimulator;
using Sentinel.Web;

var options = args.Select((a, i) => (a, i)).Where(x => x.a.StartsWith("--")).ToDictionary(x => x.a[2..], x => x.i + 1 < args.Length ? args[x.i + 1] : "");
var databaseUrl = options.GetValueOrDefault("database-url") ?? Environment.GetEnvironmentVariable("DATABASE_URL")
    ?? throw new ArgumentException("--database-url is required");
var clients = int.Parse(options.GetValueOrDefault("clients", "16"), CultureInfo.InvariantCulture);
var seconds = int.Parse(options.GetValueOrDefault("seconds", "20"), CultureInfo.InvariantCulture);
var connectionString = DatabaseUrl.ToConnectionString(databaseUrl);

var services = new ServiceCollection().AddLogging().AddSentinelFeatures(HostRole.Worker, connectionString).BuildServiceProvider();
using (var scope = services.CreateScope())
    await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new ApplyMigrations.Command(ApplyMigrations.DefaultDirectory()));

await using (var db = new NpgsqlConnection(connectionString))
{
    await db.OpenAsync();
    if (options.TryGetValue("generate-items", out var n) && await db.ExecuteScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items") == 0)
    {
        var sw = Stopwatch.StartNew();
        Console.WriteLine($"generating a synthetic tenant with {n} drive items…");
        await db.ExecuteAsync(Synthetic.Sql, new { Items = int.Parse(n, CultureInfo.InvariantCulture) }, commandTimeout: 3600);
        Console.WriteLine($"generated in {sw.Elapsed.TotalSeconds:0}s; refreshing views…");
    }
    if (!options.ContainsKey("skip-refresh")) await db.ExecuteAsync(Synthetic.RefreshSql, commandTimeout: 3600);
    Console.WriteLine("tenant: " + string.Join(", ", (await db.QueryAsync<(string, long)>("SELECT entity, total FROM mv_msgraph_inventory_summary ORDER BY entity")).Select(r => $"{r.Item1}={r.Item2}")));
}

await using var sim = await SimulatorInstance.StartAsync(new SimulatorOptions { Profile = "small", CertDir = Path.Combine(Path.GetTempPath(), "sentinel-bench-web-sim") });
var web = WebAppHost.Build(["--urls", "http://127.0.0.1:0"], b =>
{
    b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["DATABASE_URL"] = databaseUrl, ["ENTRA_INSTANCE"] = sim.EntraInstance, ["ENTRA_TENANT_ID"] = sim.TenantId, ["ENTRA_CLIENT_ID"] = sim.ClientId,
        ["ENTRA_CLIENT_SECRET"] = sim.ClientSecret, ["GRAPH_BASE_URL"] = sim.GraphBaseUrl, ["SENTINEL_CA_FILE"] = sim.CaFile,
    });
    b.Logging.SetMinimumLevel(LogLevel.Warning);
});
await web.StartAsync();
var baseUrl = web.Urls.First().TrimEnd('/');

var sessions = new List<HttpClient>();
for (var i = 0; i < clients; i++) sessions.Add(await SignIn.AsAsync(baseUrl, sim, "reader@contoso.onmicrosoft.com"));
Console.WriteLine($"{clients} clients signed in through the simulator");

var scenarios = new (string Name, string Path, double TargetP95)[]
{
    ("dashboard", "/", 150),
    ("inventory: anyone links (filtered)", "/inventory/permissions?deleted=exclude&link_scope=anonymous", 150),
    ("inventory: items of one drive (filtered)", "/inventory/items?drive_id=d-7&deleted=exclude", 150),
    ("inventory: search item names/paths", "/inventory/items?q=budget", 300),
    ("inventory: search, page 2 (keyset)", null!, 300),
    ("inventory: permissions, riskiest first (default)", "/inventory/permissions", 150),
    ("changes: newest first", "/changes", 1000),
    ("changes: external, riskiest first", "/changes?external=true&sort=risk", 1000),
    ("access by principal: member (groups + org-wide)", "/access?principal=u-7", 1000),
    ("access by principal: guest", "/access?principal=u-20", 1000),
    ("api: access by principal", "/api/access?principal=u-7", 1000),
};
// Page 2 of the search: follow the next-page link once.
var first = await sessions[0].GetStringAsync("/inventory/items?q=budget");
var next = Regex.Match(first, "data-testid=\"next-page\" href=\"([^\"]+)\"");
scenarios[4].Path = next.Success ? WebUtility.HtmlDecode(next.Groups[1].Value) : "/inventory/items?q=budget";

var rows = new List<string>();
foreach (var (name, path, target) in scenarios)
{
    await RunAsync(path, TimeSpan.FromSeconds(2)); // warm-up
    var (latencies, errors, elapsed) = await RunAsync(path, TimeSpan.FromSeconds(seconds));
    latencies.Sort();
    double P(double q) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
    var row = $"| {name} | `{path}` | {latencies.Count / elapsed.TotalSeconds:0} | {P(0.50):0.0} | {P(0.95):0.0} | {P(0.99):0.0} | {errors} | {(P(0.95) <= target ? "✅" : "❌")} ≤ {target} |";
    Console.WriteLine(row);
    rows.Add(row);
}
Console.WriteLine();
Console.WriteLine("| scenario | path | req/s | p50 ms | p95 ms | p99 ms | errors | p95 target |");
Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
foreach (var r in rows) Console.WriteLine(r);
await web.StopAsync();
return 0;

async Task<(List<double> Latencies, int Errors, TimeSpan Elapsed)> RunAsync(string path, TimeSpan duration)
{
    var latencies = new List<double>();
    var errors = 0;
    var stop = Stopwatch.StartNew();
    await Task.WhenAll(sessions.Select(async http =>
    {
        var mine = new List<double>();
        while (stop.Elapsed < duration)
        {
            var t = Stopwatch.GetTimestamp();
            using var response = await http.GetAsync(path);
            await response.Content.ReadAsByteArrayAsync();
            var ms = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            if (response.StatusCode != HttpStatusCode.OK) Interlocked.Increment(ref errors);
            mine.Add(ms);
        }
        lock (latencies) latencies.AddRange(mine);
    }));
    return (latencies, errors, stop.Elapsed);
}

static class SignIn
{
    public static async Task<HttpClient> AsAsync(string baseUrl, SimulatorInstance sim, string upn)
    {
        var handler = TrustedHttp.CreateHandler(sim.CaFile);
        handler.AllowAutoRedirect = false;
        handler.CookieContainer = new CookieContainer();
        handler.UseCookies = true;
        var http = new HttpClient(handler) { BaseAddress = new Uri(baseUrl) };
        var start = await http.GetAsync("/account/signin?returnUrl=%2F");
        var authorize = start.Headers.Location!;
        var picker = await http.GetStringAsync(authorize);
        var form = Regex.Matches(picker, "<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")
            .ToDictionary(m => WebUtility.HtmlDecode(m.Groups[1].Value), m => WebUtility.HtmlDecode(m.Groups[2].Value));
        form["login_hint"] = upn;
        var picked = await http.PostAsync(new Uri(authorize.GetLeftPart(UriPartial.Path)), new FormUrlEncodedContent(form));
        var done = await http.GetAsync(picked.Headers.Location!);
        if (done.StatusCode != HttpStatusCode.Redirect) throw new InvalidOperationException($"sign-in failed: {(int)done.StatusCode}");
        return http;
    }
}

static class Synthetic
{
    public const string RefreshSql = """
        REFRESH MATERIALIZED VIEW mv_dashboard_posture;
        REFRESH MATERIALIZED VIEW mv_dashboard_drive_exposure;
        REFRESH MATERIALIZED VIEW mv_msgraph_inventory_summary;
        REFRESH MATERIALIZED VIEW mv_msgraph_sharing_posture_summary;
        REFRESH MATERIALIZED VIEW mv_latest_job_runs;
        REFRESH MATERIALIZED VIEW mv_principal_reach;
        REFRESH MATERIALIZED VIEW mv_posture_oversharing;
        INSERT INTO mv_refresh_log (mv_name, last_refreshed_at)
        SELECT v, now() FROM unnest(ARRAY['mv_dashboard_posture','mv_dashboard_drive_exposure','mv_msgraph_inventory_summary','mv_msgraph_sharing_posture_summary','mv_latest_job_runs','mv_principal_reach','mv_posture_oversharing']) v
        ON CONFLICT (mv_name) DO UPDATE SET last_refreshed_at = EXCLUDED.last_refreshed_at;
        ANALYZE;
        """;

    // 10k users, 2k groups, 500 sites × 2 drives, @Items items (10% folders), permissions on ~12% of files, 1% soft-deleted.
    public const string Sql = """
        INSERT INTO msgraph_users (id, display_name, user_principal_name, mail, account_enabled, user_type, synced_at, deleted_at)
        SELECT 'u-' || g, 'User ' || g, 'user' || g || '@contoso.onmicrosoft.com', 'user' || g || '@contoso.com', true,
               CASE WHEN g % 20 = 0 THEN 'Guest' ELSE 'Member' END, now(), CASE WHEN g % 100 = 0 THEN now() END
          FROM generate_series(1, 10000) g;
        INSERT INTO msgraph_groups (id, display_name, mail, security_enabled, mail_enabled, group_types, synced_at)
        SELECT 'g-' || g, 'Group ' || g, 'group' || g || '@contoso.com', true, false, '{}', now() FROM generate_series(1, 2000) g;
        INSERT INTO msgraph_group_members (group_id, member_id, member_type, synced_at)
        SELECT 'g-' || g, 'u-' || (1 + (g * 7 + m) % 10000), 'user', now() FROM generate_series(1, 2000) g, generate_series(1, 10) m;
        INSERT INTO msgraph_sites (id, name, web_url, synced_at)
        SELECT 's-' || s, 'Site ' || s, 'https://contoso.sharepoint.com/sites/site' || s, now() FROM generate_series(1, 500) s;
        INSERT INTO msgraph_drives (id, site_id, name, drive_type, synced_at)
        SELECT 'd-' || d, 's-' || (1 + (d - 1) / 2), CASE WHEN d % 2 = 0 THEN 'Archive' ELSE 'Documents' END, 'documentLibrary', now()
          FROM generate_series(1, 1000) d;
        INSERT INTO msgraph_drive_items (id, drive_id, name, parent_id, path, is_folder, size, modified_dt, is_root, synced_at, deleted_at)
        SELECT 'root-' || d, 'd-' || d, 'root', NULL, '/', true, 0, now(), true, now(), NULL FROM generate_series(1, 1000) d;
        INSERT INTO msgraph_drive_items (id, drive_id, name, parent_id, path, is_folder, size, modified_dt, is_root, synced_at, deleted_at)
        SELECT 'i-' || i, 'd-' || (1 + i % 1000),
               (ARRAY['Budget','Report','Plan','Minutes','Contract','Invoice','Roadmap','Summary'])[1 + i % 8] || ' ' || i ||
                 CASE WHEN i % 10 = 0 THEN '' ELSE (ARRAY['.docx','.xlsx','.pptx','.pdf'])[1 + i % 4] END,
               'root-' || (1 + i % 1000),
               '/Folder ' || (i % 50) || '/' || (ARRAY['Budget','Report','Plan','Minutes','Contract','Invoice','Roadmap','Summary'])[1 + i % 8] || ' ' || i,
               i % 10 = 0, (i::bigint * 7919) % 5000000, now() - (i % 1000) * interval '1 hour', false, now(), CASE WHEN i % 100 = 1 THEN now() END
          FROM generate_series(1, @Items) i;
        INSERT INTO msgraph_drive_item_permissions (permission_id, drive_id, item_id, roles, link_type, link_scope, link_expiration_dt, inherited_from_id, synced_at)
        SELECT 'p-' || i, 'd-' || (1 + i % 1000), 'i-' || i, ARRAY[CASE WHEN i % 3 = 0 THEN 'write' ELSE 'read' END],
               CASE WHEN i % 4 = 0 THEN NULL ELSE 'view' END,
               (ARRAY[NULL, 'anonymous', 'organization', 'users'])[1 + i % 4],
               CASE WHEN i % 5 = 0 THEN now() + interval '30 days' END,
               CASE WHEN i % 7 = 0 THEN 'root-' || (1 + i % 1000) END, now()
          FROM generate_series(1, @Items) i WHERE i % 8 = 3;
        INSERT INTO msgraph_drive_item_permission_grants (permission_id, item_id, principal_type, principal_id, principal_display_name, principal_email, is_external, synced_at)
        SELECT 'p-' || i, 'i-' || i, 'user', 'u-' || (1 + i % 10000), 'User ' || (1 + i % 10000), 'user' || (1 + i % 10000) || '@contoso.com', (1 + i % 10000) % 20 = 0, now()
          FROM generate_series(1, @Items) i WHERE i % 8 = 3 AND i % 4 = 0;
        -- The permission model (010): items holding permissions and drive roots are hierarchy roots; everything else
        -- inherits from its drive root, whose base grant goes to a group (site members), as SharePoint's site groups do.
        UPDATE msgraph_drive_items SET has_unique_permissions = true, permission_root_id = id
         WHERE is_root OR id IN (SELECT item_id FROM msgraph_drive_item_permissions);
        UPDATE msgraph_drive_items SET permission_root_id = 'root-' || substring(drive_id FROM 3) WHERE permission_root_id IS NULL;
        INSERT INTO msgraph_drive_item_permissions (permission_id, drive_id, item_id, roles, synced_at)
        SELECT 'base-' || d, 'd-' || d, 'root-' || d, ARRAY['write'], now() FROM generate_series(1, 1000) d;
        INSERT INTO msgraph_drive_item_permission_grants (permission_id, item_id, principal_type, principal_id, principal_display_name, synced_at)
        SELECT 'base-' || d, 'root-' || d, 'group', 'g-' || (1 + d % 2000), 'Group ' || (1 + d % 2000), now() FROM generate_series(1, 1000) d;
        -- A year of the posture change feed: 200 changes a day.
        INSERT INTO posture_changes (run_id, recorded_at, kind, scope, risk, item_id, drive_id, site_id, item_name, item_path, principal_type, principal_id,
                                     principal_name, is_external, after)
        SELECT gen_random_uuid(), now() - (c % 73000) * interval '3 minutes' - interval '1 minute',
               (ARRAY['link_created','grant_added','reach_gained','link_removed','member_added','inheritance_broken'])[1 + c % 6],
               (ARRAY['anonymous','external','anyone','organization','internal','users'])[1 + c % 6], (c % 10)::smallint,
               'i-' || (1 + c * 13 % @Items), 'd-' || (1 + c % 1000), 's-' || (1 + c % 500), 'Item ' || c, '/Folder/Item ' || c,
               'user', 'u-' || (1 + c % 10000), 'User ' || (1 + c % 10000), c % 20 = 0, '{"scope":"anonymous","roles":["read"]}'::jsonb
          FROM generate_series(1, 73000) c;
        """;
}
