using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sentinel.Features.Database;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Ingestion;
using Phases = Sentinel.Features.Ingestion.GraphIngestConfig.Phases;

// Ingestion benchmark against a running tenant simulator (started by bench/Ingestion/run.sh, out of process so
// that this process's memory is the worker's alone).
//   BENCH_DATABASE_URL  postgres server URL (a database "sentinel_bench_ingest" is recreated on it)
//   SIM_BASE_URL        e.g. https://127.0.0.1:5601   SIM_CA_FILE  the simulator's ca.pem
//   BENCH_PERMISSION_FILES  files for the permission-scan measurement (default 200000)
//   BENCH_CEILING_ROWS  rows of the COPY ceiling measured on the same PostgreSQL (default 1000000; 0 skips it)
//   BENCH_LATENCY_MS    simulated Graph latency of a second incremental run (default 150; 0 skips it)
//   BENCH_RU_PER_MINUTE the tenant RU budget the run may draw (default 100,000,000: local throughput is measured
//                       unthrottled; the RU each phase would cost is reported per phase)
//   BENCH_STOP_AFTER    "items": stop after the full drive-item load (quick iterations on the full-load ratio);
//                       "drives": after the phases before it (users, groups, sites, drives)
var simBase = Environment.GetEnvironmentVariable("SIM_BASE_URL") ?? throw new InvalidOperationException("SIM_BASE_URL is required");
var ca = Environment.GetEnvironmentVariable("SIM_CA_FILE") ?? throw new InvalidOperationException("SIM_CA_FILE is required");
var serverUrl = Environment.GetEnvironmentVariable("BENCH_DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5503/postgres";
var permFiles = int.Parse(Environment.GetEnvironmentVariable("BENCH_PERMISSION_FILES") ?? "200000");
var tenant = Environment.GetEnvironmentVariable("ENTRA_TENANT_ID") ?? "8f2a4c1e-5b6d-4e7f-9a0b-1c2d3e4f5a6b";
var clientId = Environment.GetEnvironmentVariable("ENTRA_CLIENT_ID") ?? "3c9e1d2f-7a8b-4c5d-8e9f-0a1b2c3d4e5f";
var secret = Environment.GetEnvironmentVariable("ENTRA_CLIENT_SECRET") ?? "sim-secret";

var server = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString(serverUrl));
// BENCH_REUSE_DB=1 (posture mode): keep the database of a previous run (its inventory) instead of recreating it.
if (Environment.GetEnvironmentVariable("BENCH_REUSE_DB") != "1")
await using (var admin = new NpgsqlConnection(server.ConnectionString))
{
    await admin.OpenAsync();
    await admin.ExecuteAsync("DROP DATABASE IF EXISTS sentinel_bench_ingest WITH (FORCE)");
    await admin.ExecuteAsync("CREATE DATABASE sentinel_bench_ingest");
}
var connectionString = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = "sentinel_bench_ingest", MaxPoolSize = 64 }.ConnectionString;
var settings = new SentinelSettings
{
    ConnectionString = connectionString, EntraInstance = simBase + "/", EntraTenantId = tenant, EntraClientId = clientId,
    EntraClientSecret = secret, GraphBaseUrl = simBase + "/v1.0", CaFile = ca,
};
var services = new ServiceCollection();
services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
services.AddSentinelFeatures(HostRole.Worker, connectionString);
services.AddGraphIngestion(settings);
await using var provider = services.BuildServiceProvider();

async Task<T> Send<T>(IRequest<T> request)
{
    using var scope = provider.CreateScope();
    return await scope.ServiceProvider.GetRequiredService<IMediator>().Send(request);
}

await Send(new ApplyMigrations.Command(Path.Combine(FindRoot(), "db", "init")));
var ruPerMinute = int.Parse(Environment.GetEnvironmentVariable("BENCH_RU_PER_MINUTE") ?? "100000000");
await provider.GetRequiredService<GraphRuBudget>().ConfigureAsync(ruPerMinute, (long)ruPerMinute * 1440, null, CancellationToken.None);
using var sim = TrustedHttp.CreateClient(ca);
sim.BaseAddress = new Uri(simBase + "/");

// BENCH_MODE=warm-simulator (run.sh, before the measured process): the simulator stands in for Graph, a service that is
// always warm, but starts cold — its first seconds of serving are mostly the .NET JIT (perf: 36 % of its samples in
// libclrjit.so during the directory phases), CPU taken from the two cores the measured processes share. This process
// makes the kinds of requests a run makes (directory deltas, site list, drive lists and drive deltas through $batch,
// a few nextLinks), twice, and ingests nothing; the measured process that follows starts cold itself.
if (Environment.GetEnvironmentVariable("BENCH_MODE") == "warm-simulator")
{
    var graph = provider.GetRequiredService<GraphHttp>();
    var stats = new GraphCallStats();
    var watch = Stopwatch.StartNew();
    async Task<List<string>> ReadAll(string firstUrl)
    {
        var ids = new List<string>();
        for (string? url = firstUrl; url is not null;)
        {
            using var doc = (await graph.GetAsync(url, stats, CancellationToken.None)).Json();
            foreach (var v in doc.RootElement.GetProperty("value").EnumerateArray())
                if (v.TryGetProperty("id", out var id)) ids.Add(id.GetString()!);
            url = doc.RootElement.TryGetProperty("@odata.nextLink", out var n) ? n.GetString() : null;
        }
        return ids;
    }
    for (var round = 0; round < 2; round++)
    {
        var userIds = await ReadAll(IngestUsersDelta.InitialUrl);
        await ReadAll(IngestGroupsDelta.InitialUrl);
        var siteIds = await ReadAll(IngestSites.InitialUrl);
        var driveIds = new List<string>();
        foreach (var chunk in userIds.Take(400).Select(u => $"users/{u}/drive").Concat(siteIds.Take(100).Select(s => $"sites/{s}/drives")).Chunk(GraphBatch.MaxPerBatch))
            foreach (var answer in await GraphBatch.GetManyAsync(graph, chunk, stats, CancellationToken.None))
            {
                using var doc = answer.Json();
                if (doc.RootElement.TryGetProperty("id", out var id)) driveIds.Add(id.GetString()!);
                else if (doc.RootElement.TryGetProperty("value", out var list))
                    driveIds.AddRange(list.EnumerateArray().Select(d => d.GetProperty("id").GetString()!));
            }
        var next = new List<string>();
        foreach (var chunk in driveIds.Take(400).Select(d => $"drives/{d}/root/delta").Chunk(GraphBatch.MaxPerBatch))
            foreach (var answer in await GraphBatch.GetManyAsync(graph, chunk, stats, CancellationToken.None, IngestDriveItemsDelta.PreferHeaders))
            {
                using var doc = answer.Json();
                if (doc.RootElement.TryGetProperty("@odata.nextLink", out var n)) next.Add(n.GetString()!);
            }
        foreach (var link in next.Take(40))
        {
            using var doc = (await graph.GetAsync(link, stats, CancellationToken.None, IngestDriveItemsDelta.PreferHeaders)).Json();
        }
    }
    using (var r = await sim.PostAsync("_sim/stats/reset", null)) r.EnsureSuccessStatusCode();
    Console.WriteLine($"simulator warmed: {stats.Requests} requests in {watch.Elapsed.TotalSeconds:F1}s");
    return 0;
}

if (Environment.GetEnvironmentVariable("BENCH_MODE") == "posture")
    return await Sentinel.Bench.Ingestion.PostureBench.RunAsync(provider, sim,
        provider.GetRequiredService<GraphHttp>(), provider.GetRequiredService<GraphRetryOptions>(), connectionString,
        new GraphIngestOptions
        {
            DriveConcurrency = int.Parse(Environment.GetEnvironmentVariable("BENCH_DRIVE_CONCURRENCY") ?? "8"),
            PermissionConcurrency = int.Parse(Environment.GetEnvironmentVariable("BENCH_PERMISSION_CONCURRENCY") ?? "16"),
        });

var rows = new List<string>();
var peak = 0L;
using var sampler = new Timer(_ => { var ws = Environment.WorkingSet; if (ws > peak) Interlocked.Exchange(ref peak, ws); }, null, 0, 100);

async Task<(TimeSpan Elapsed, long Requests, long Ru, object Result)> Phase(string name, IngestRun run, Func<Task<object>> body)
{
    var r0 = run.Graph.Requests; var ru0 = run.Graph.ResourceUnits;
    var sw = Stopwatch.StartNew();
    var result = await body();
    sw.Stop();
    var p = (sw.Elapsed, run.Graph.Requests - r0, run.Graph.ResourceUnits - ru0, result);
    Console.WriteLine($"{name}: {sw.Elapsed.TotalSeconds:F1}s requests={p.Item2} ru={p.Item3} {JsonSerializer.Serialize(result)}");
    return p;
}

string[] DeltaPhases = [Phases.Users, Phases.Groups, Phases.Sites, Phases.Drives, Phases.DriveItems];
static string PhaseLabel(string phase) => phase == Phases.DriveItems ? "drive items" : phase;

async Task<object?> SendPhase(string phase, IngestRun run, GraphIngestOptions o, Func<string, CancellationToken, Task>? whenDone = null) => phase switch
{
    Phases.Users => await Send(new IngestUsersDelta.Command(run)),
    Phases.Groups => await Send(new IngestGroupsDelta.Command(run)),
    Phases.Sites => await Send(new IngestSites.Command(run)),
    Phases.Drives => await Send(new IngestDrives.Command(o, run) { SitesListed = whenDone is null ? null : t => whenDone(Phases.Sites, t) }),
    Phases.DriveItems => await Send(new IngestDriveItemsDelta.Command(o, run)),
    _ => throw new ArgumentOutOfRangeException(nameof(phase)),
};

// Phases as graph_ingest runs them (IngestPhasePlan), each printed when it completes with its own requests and RU.
async Task<Dictionary<string, (TimeSpan Elapsed, long Requests, long Ru, object Result)>> RunPhases(IngestRun run, GraphIngestOptions o,
    string[] phases, Func<string, IngestRun, Func<string, CancellationToken, Task>, Task<object?>> body)
{
    var done = new Dictionary<string, (TimeSpan, long, long, object)>();
    await IngestPhasePlan.RunAsync(phases, run, (phase, branch, whenDone, _) => body(phase, branch, whenDone), (d, _) =>
    {
        Console.WriteLine($"{PhaseLabel(d.Phase)}: {d.Elapsed.TotalSeconds:F1}s requests={d.Requests} ru={d.ResourceUnits} {JsonSerializer.Serialize(d.Result)}");
        done[d.Phase] = (d.Elapsed, d.Requests, d.ResourceUnits, d.Result!);
        return Task.CompletedTask;
    }, CancellationToken.None);
    return done;
}

void Row(string name, (TimeSpan Elapsed, long Requests, long Ru, object Result) p, long units, string unitName)
{
    var u = Math.Max(1, units);
    rows.Add($"| {name} | {p.Elapsed.TotalSeconds:F2} | {units:N0} {unitName} | {units / Math.Max(0.001, p.Elapsed.TotalSeconds):N0}/s | {p.Requests:N0} | {p.Ru:N0} | {p.Requests * 1000.0 / u:F1} | {p.Ru * 1000.0 / u:F1} |");
}

async Task<(int Gen0, int Gen1, int Gen2, double PauseMs)> SimGc()
{
    using var info = JsonDocument.Parse(await sim.GetStringAsync("_sim/info"));
    var g = info.RootElement.GetProperty("gc");
    return (g.GetProperty("gen0").GetInt32(), g.GetProperty("gen1").GetInt32(), g.GetProperty("gen2").GetInt32(), g.GetProperty("pauseMs").GetDouble());
}

// After a CHECKPOINT, the operating system still holds gigabytes of the previous writes (the bench's cluster runs with
// fsync off) and writes them back within 30 s, inside whatever is measured next: the ceiling and the drive items both
// start with them written (`sync`, where the bench may run it; nothing otherwise).
static void SyncFileSystems()
{
    try
    {
        using var p = Process.Start(new ProcessStartInfo("sync") { UseShellExecute = false });
        p?.WaitForExit();
    }
    catch (System.ComponentModel.Win32Exception) { }
}

async Task<long> Count(string sql)
{
    await using var c = new NpgsqlConnection(connectionString);
    return await c.ExecuteScalarAsync<long>(sql);
}

// The COPY ceiling: what one binary COPY stream of item-shaped rows (~1.1 KB, a primary key and one index) reaches on
// this PostgreSQL right now — the local throughput figures below are read as a ratio to it.
var ceilingRows = int.Parse(Environment.GetEnvironmentVariable("BENCH_CEILING_ROWS") ?? "1000000");
double? ceiling = null;
if (ceilingRows > 0)
{
    await using var c = new NpgsqlConnection(connectionString);
    await c.OpenAsync();
    await c.ExecuteAsync("""
        DROP TABLE IF EXISTS bench_copy_ceiling;
        CREATE TABLE bench_copy_ceiling (id text PRIMARY KEY, drive_id text NOT NULL, name text, path text, web_url text, size bigint, raw jsonb);
        CREATE INDEX bench_copy_ceiling_drive_path_idx ON bench_copy_ceiling (drive_id, path);
        CHECKPOINT;
        """);
    SyncFileSystems();
    var filler = new string('x', 560);
    var sw = Stopwatch.StartNew();
    await using (var writer = await c.BeginBinaryImportAsync("COPY bench_copy_ceiling (id, drive_id, name, path, web_url, size, raw) FROM STDIN (FORMAT BINARY)"))
    {
        for (var i = 0; i < ceilingRows; i++)
        {
            var id = $"01ABCDEFGHIJKLMNOPQRSTU{i:D10}";
            var drive = $"b!drive{i % 8635:D5}abcdefghijklmnopqrstuvwxyz0123456789";
            var name = $"Document {i}.docx";
            var path = $"/Folder {i % 97}/Sub {i % 13}/{name}";
            await writer.StartRowAsync();
            await writer.WriteAsync(id, NpgsqlTypes.NpgsqlDbType.Text);
            await writer.WriteAsync(drive, NpgsqlTypes.NpgsqlDbType.Text);
            await writer.WriteAsync(name, NpgsqlTypes.NpgsqlDbType.Text);
            await writer.WriteAsync(path, NpgsqlTypes.NpgsqlDbType.Text);
            await writer.WriteAsync("https://contoso.sharepoint.com/sites/x/Shared%20Documents" + path, NpgsqlTypes.NpgsqlDbType.Text);
            await writer.WriteAsync((long)i * 37, NpgsqlTypes.NpgsqlDbType.Bigint);
            await writer.WriteAsync($$$"""{"id":"{{{id}}}","name":"{{{name}}}","size":{{{i * 37}}},"eTag":"\"{{{id}}},1\"","file":{"mimeType":"application/vnd.openxmlformats","hashes":{"quickXorHash":"{{{filler[..28]}}}"}},"parentReference":{"driveId":"{{{drive}}}","driveType":"documentLibrary"},"x":"{{{filler}}}"}""", NpgsqlTypes.NpgsqlDbType.Jsonb);
        }
        await writer.CompleteAsync();
    }
    sw.Stop();
    var bytes = await c.ExecuteScalarAsync<long>("SELECT pg_total_relation_size('bench_copy_ceiling') / count(*) FROM bench_copy_ceiling");
    ceiling = ceilingRows / sw.Elapsed.TotalSeconds;
    Console.WriteLine($"COPY ceiling: {ceilingRows:N0} rows (~{bytes:N0} bytes/row on disk incl. indexes) in {sw.Elapsed.TotalSeconds:F1}s = {ceiling:N0} rows/s");
    await c.ExecuteAsync("DROP TABLE bench_copy_ceiling; CHECKPOINT");
    SyncFileSystems();
}

var options = new GraphIngestOptions { DriveConcurrency = int.Parse(Environment.GetEnvironmentVariable("BENCH_DRIVE_CONCURRENCY") ?? "8"),
    PermissionConcurrency = int.Parse(Environment.GetEnvironmentVariable("BENCH_PERMISSION_CONCURRENCY") ?? "16"), PermissionBatchSize = 1000, PermissionMaxFiles = permFiles };
var full = new IngestRun(DateTimeOffset.UtcNow);
// The "full load" reads users through drive items, run as graph_ingest runs them (IngestPhasePlan: groups and
// sites alongside the users → drives → drive items chain): the whole sequence is timed too (the ratio above is the
// drive-item phase alone, which writes the million rows).
(int Gen0, int Gen1, int Gen2, double PauseMs) simGc0 = default, simGc1 = default;
(int, int, int, TimeSpan) gcBefore = default, gcAfter = default;
var fullLoad = Stopwatch.StartNew();
var stopAfterDrives = Environment.GetEnvironmentVariable("BENCH_STOP_AFTER") == "drives";
var fullPhases = await RunPhases(full, options, stopAfterDrives ? [Phases.Users, Phases.Groups, Phases.Sites, Phases.Drives] : DeltaPhases, async (phase, run, whenDone) =>
{
    if (phase != Phases.DriveItems) return await SendPhase(phase, run, options, whenDone);
    simGc0 = await SimGc();
    gcBefore = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
    var result = await SendPhase(phase, run, options);
    gcAfter = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
    simGc1 = await SimGc();
    return result;
});
fullLoad.Stop();
if (stopAfterDrives)
{
    Console.WriteLine($"users → drives: {fullLoad.Elapsed.TotalSeconds:F1}s");
    return 0;
}
Row("users (full)", fullPhases[Phases.Users], await Count("SELECT count(*) FROM msgraph_users"), "users");
Row("groups + members (full, alongside)", fullPhases[Phases.Groups], await Count("SELECT count(*) FROM msgraph_group_members"), "memberships");
Row("sites (full, alongside)", fullPhases[Phases.Sites], await Count("SELECT count(*) FROM msgraph_sites"), "sites");
Row("drives (full)", fullPhases[Phases.Drives], await Count("SELECT count(*) FROM msgraph_drives"), "drives");
var items = fullPhases[Phases.DriveItems];
// What varies between runs of the phase: collections (the simulator's pause every answer), and the write paths taken.
Console.WriteLine($"drive items: ingestion GCs gen0/1/2 {gcAfter.Item1 - gcBefore.Item1}/{gcAfter.Item2 - gcBefore.Item2}/{gcAfter.Item3 - gcBefore.Item3}, " +
    $"paused {(gcAfter.Item4 - gcBefore.Item4).TotalMilliseconds:F0} ms; simulator GCs gen0/1/2 {simGc1.Gen0 - simGc0.Gen0}/{simGc1.Gen1 - simGc0.Gen1}/" +
    $"{simGc1.Gen2 - simGc0.Gen2}, paused {simGc1.PauseMs - simGc0.PauseMs:F0} ms");
Console.WriteLine("drive items counters: " + string.Join(", ", full.Counters.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}")));
var itemCount = await Count("SELECT count(*) FROM msgraph_drive_items");
Row("drive items (full)", items, itemCount, "items");
var peakItems = Interlocked.Read(ref peak);
var itemRate = itemCount / items.Elapsed.TotalSeconds;
if (ceiling is { } cl)
    Console.WriteLine($"drive items (full): {itemRate:N0} items/s = {itemRate / cl:F2} × the COPY ceiling ({cl:N0} rows/s); target ≥ 0.50");
var sequenceRate = itemCount / fullLoad.Elapsed.TotalSeconds;
if (ceiling is { } cs)
    Console.WriteLine($"full load users → drive items: {fullLoad.Elapsed.TotalSeconds:F1}s, {sequenceRate:N0} items/s = {sequenceRate / cs:F2} × the COPY ceiling");
// The dashboard's indexes the first load deferred: a run builds them concurrently with the permission phase; here on
// their own (nothing else running), so both figures are printed.
var dashboardIndexes = await Phase("deferred dashboard indexes", full, async () => await Send(new BuildDeferredIndexes.Command()));
Row("dashboard indexes (concurrently, during the permission phase in a run)", dashboardIndexes, ((BuildDeferredIndexes.Result)dashboardIndexes.Result).Built, "indexes");
var withIndexesRate = itemCount / (items.Elapsed + dashboardIndexes.Elapsed).TotalSeconds;
if (ceiling is { } cl3)
    Console.WriteLine($"drive items + dashboard indexes built right after: {withIndexesRate:N0} items/s = {withIndexesRate / cl3:F2} × the COPY ceiling");
if (Environment.GetEnvironmentVariable("BENCH_STOP_AFTER") == "items")
{
    Console.WriteLine($"peak working set after drive items {peakItems / 1048576.0:F0} MB");
    foreach (var row in rows) Console.WriteLine(row);
    return 0;
}
var perm = await Phase("permissions", full, async () => await Send(new ScanPermissionsBatch.Command(options, full)));
Row("permission scan", perm, ((ScanPermissionsBatch.Result)perm.Result).FilesScanned, "files");
var peakFull = Interlocked.Read(ref peak);

// Incremental after 1 % changes (mutations of items, folders, links, grants, memberships).
var mutations = (int)(itemCount / 100);
using (var r = await sim.PostAsJsonAsync("_sim/mutate", new { count = mutations, seed = 5 })) r.EnsureSuccessStatusCode();
var incremental = new IngestRun(DateTimeOffset.UtcNow.AddMinutes(1));
var incOptions = options with { PermissionRescanAfterHours = 24 * 365 };
var total = Stopwatch.StartNew();
var incPhases = await RunPhases(incremental, incOptions, DeltaPhases, (phase, run, whenDone) => SendPhase(phase, run, incOptions, whenDone));
foreach (var phase in DeltaPhases) Row($"{PhaseLabel(phase)} (incremental)", incPhases[phase], mutations, "mutations");
var deltaPhases = total.Elapsed;
// Only the files the mutations made dirty (the first scan covered BENCH_PERMISSION_FILES files, the rest are never-scanned).
var dirty = (int)await Count("SELECT count(*) FROM msgraph_drive_items WHERE permissions_dirty AND deleted_at IS NULL AND NOT is_folder");
Row("permissions of dirty files (incremental)", await Phase("permissions", incremental, async () =>
    await Send(new ScanPermissionsBatch.Command(incOptions with { PermissionMaxFiles = Math.Max(1, dirty) }, incremental))), dirty, "files");
total.Stop();

// The same incremental again (another 1 %), with simulated Graph latency on every request.
var latency = int.Parse(Environment.GetEnvironmentVariable("BENCH_LATENCY_MS") ?? "150");
TimeSpan? latencyPhases = null;
if (latency > 0)
{
    using (var r = await sim.PostAsJsonAsync("_sim/mutate", new { count = mutations, seed = 6 })) r.EnsureSuccessStatusCode();
    using (var r = await sim.PostAsJsonAsync("_sim/faults", new { latencyMinMs = latency, latencyMaxMs = latency + 1 })) r.EnsureSuccessStatusCode();
    var slow = new IngestRun(DateTimeOffset.UtcNow.AddMinutes(2));
    var watch = Stopwatch.StartNew();
    var slowPhases = await RunPhases(slow, incOptions, DeltaPhases, (phase, run, whenDone) => SendPhase(phase, run, incOptions, whenDone));
    foreach (var phase in DeltaPhases) Row($"{PhaseLabel(phase)} (incremental, {latency} ms)", slowPhases[phase], mutations, "mutations");
    latencyPhases = watch.Elapsed;
    using (var r = await sim.PostAsJsonAsync("_sim/faults", new { })) r.EnsureSuccessStatusCode();
}

Console.WriteLine();
Console.WriteLine($"drive items in db: {itemCount:N0}; peak working set: after drive items {peakItems / 1048576.0:F0} MB, after permission scan {peakFull / 1048576.0:F0} MB, overall {Interlocked.Read(ref peak) / 1048576.0:F0} MB");
Console.WriteLine($"incremental after {mutations:N0} mutations: delta phases {deltaPhases.TotalSeconds:F1}s (target ≤ 10 s), including the dirty-permission scan {total.Elapsed.TotalSeconds:F1}s");
if (latencyPhases is { } lp) Console.WriteLine($"incremental after {mutations:N0} more mutations with {latency} ms Graph latency: delta phases {lp.TotalSeconds:F1}s (target ≤ 60 s)");
if (ceiling is { } c2) Console.WriteLine($"COPY ceiling {c2:N0} rows/s; drive items full load {itemRate:N0} items/s = {itemRate / c2:F2} × ceiling ({withIndexesRate / c2:F2} × with the dashboard indexes built right after; users → drive items {sequenceRate / c2:F2} ×)");
Console.WriteLine();
Console.WriteLine("| phase | seconds | units | rate | requests | est. RU | requests/1k units | RU/1k units |");
Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
foreach (var row in rows) Console.WriteLine(row);
return 0;

static string FindRoot()
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        if (File.Exists(Path.Combine(d.FullName, "Sentinel.sln"))) return d.FullName;
    return Directory.GetCurrentDirectory();
}
