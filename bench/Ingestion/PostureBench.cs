using System.Diagnostics;
using System.Net.Http.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Sentinel.Features.Graph;
using Sentinel.Features.Ingestion;
using Sentinel.Features.Views;

namespace Sentinel.Bench.Ingestion;

/// <summary>
/// BENCH_MODE=posture: resource units and wall time to a full permission posture with the permission-hierarchy model
/// (roots only) against the per-file scan it replaced, with simulated Graph latency, and the time bounds each
/// SharePoint tier's RU/min and RU/day imply. The per-file scan is measured on a sample of files (fetch only, same
/// $batch size and concurrency) and extrapolated; its RU are exact (5 per file).
/// </summary>
public static class PostureBench
{
    /// <summary>SharePoint RU per app per tenant by licences ("Avoid getting throttled or blocked in SharePoint Online").</summary>
    private static readonly (string Tier, long PerMinute, long PerDay)[] Tiers =
    [
        ("≤ 1,000 licences", 1_250, 1_200_000), ("1,001–5,000", 2_500, 2_400_000), ("5,001–15,000", 3_750, 3_600_000),
        ("15,001–50,000", 5_000, 4_800_000), ("> 50,000", 6_250, 6_000_000),
    ];

    public static async Task<int> RunAsync(IServiceProvider provider, HttpClient sim, GraphHttp graph, GraphRetryOptions retry,
        string connectionString, GraphIngestOptions options)
    {
        async Task<T> send<T>(MediatR.IRequest<T> request)
        {
            using var scope = provider.CreateScope();
            return await scope.ServiceProvider.GetRequiredService<MediatR.IMediator>().Send(request);
        }

        var latency = Environment.GetEnvironmentVariable("BENCH_LATENCY_MS") ?? "100-300";
        var parts = latency.Split('-');
        using (var r = await sim.PostAsJsonAsync("_sim/faults", new { latencyMinMs = int.Parse(parts[0]), latencyMaxMs = int.Parse(parts[^1]) }))
            r.EnsureSuccessStatusCode();
        var sample = int.Parse(Environment.GetEnvironmentVariable("BENCH_PERFILE_SAMPLE") ?? "20000");
        var mutations = int.Parse(Environment.GetEnvironmentVariable("BENCH_SHARING_MUTATIONS") ?? "200");
        options = options with { PermissionMaxFiles = 0, PermissionVerifyPercentPerDay = 0, PermissionBatchSize = 1000 };

        async Task<long> Count(string sql)
        {
            await using var c = new NpgsqlConnection(connectionString);
            return await c.ExecuteScalarAsync<long>(sql, commandTimeout: 0);
        }

        // 1. Inventory (delta phases) — needed by both models.
        var run = new IngestRun(DateTimeOffset.UtcNow);
        var sw = Stopwatch.StartNew();
        await send(new IngestUsersDelta.Command(run));
        await send(new IngestGroupsDelta.Command(run));
        await send(new IngestSites.Command(run));
        await send(new IngestDrives.Command(options, run));
        await send(new IngestDriveItemsDelta.Command(options, run));
        var inventory = (sw.Elapsed, run.Graph.Requests, run.Graph.ResourceUnits);
        Console.WriteLine($"inventory: {inventory.Elapsed.TotalSeconds:F1}s requests={inventory.Requests} ru={inventory.ResourceUnits}");

        // 2. Permission posture by hierarchy roots (includes MaintainPermissionRoots) + the views.
        var ruBefore = run.Graph.ResourceUnits;
        sw.Restart();
        var scan = await send(new ScanPermissionsBatch.Command(options, run));
        var scanTime = sw.Elapsed;
        sw.Restart();
        await send(new RefreshImpactedViews.Command());
        var refreshTime = sw.Elapsed;
        var roots = await Count("SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL AND has_unique_permissions");
        var files = await Count("SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL AND NOT is_folder");
        var items = await Count("SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL");
        var anonItems = await Count("SELECT value FROM mv_dashboard_posture WHERE metric = 'anonymous_items'");
        var scanRu = run.Graph.ResourceUnits - ruBefore;
        Console.WriteLine($"roots scan: {scanTime.TotalSeconds:F1}s calls={scan.PermissionCalls} ru={scanRu} roots={roots} files={files} items={items} refresh={refreshTime.TotalSeconds:F1}s anonymous_items={anonItems}");

        // 3. The per-file scan it replaced: every live file, one permission call each (fetch only, on a sample).
        List<(string Id, string DriveId)> picked;
        await using (var c = new NpgsqlConnection(connectionString))
            picked = (await c.QueryAsync<(string, string)>(
                "SELECT id, drive_id FROM msgraph_drive_items WHERE deleted_at IS NULL AND NOT is_folder ORDER BY md5(id) LIMIT @sample", new { sample })).ToList();
        var stats = new GraphCallStats();
        sw.Restart();
        using (var gate = new SemaphoreSlim(options.PermissionConcurrency))
            await Task.WhenAll(picked.Chunk(GraphBatch.MaxPerBatch).Select(async batch =>
            {
                await gate.WaitAsync();
                try { await GraphBatch.GetManyAsync(graph, batch.Select(f => $"drives/{f.DriveId}/items/{f.Id}/permissions").ToList(), stats, default); }
                finally { gate.Release(); }
            }));
        var sampleTime = sw.Elapsed;
        var perFileTime = TimeSpan.FromSeconds(sampleTime.TotalSeconds * files / Math.Max(1, picked.Count));
        Console.WriteLine($"per-file sample: {picked.Count} files in {sampleTime.TotalSeconds:F1}s ({picked.Count / sampleTime.TotalSeconds:F0} files/s) → {files} files ≈ {perFileTime.TotalSeconds:F0}s");

        // 4. Steady state: sharing changes (folders shared/unshared, links, grants, inheritance) → one incremental run.
        using (var r = await sim.PostAsJsonAsync("_sim/mutate", new
               {
                   count = mutations, seed = 77,
                   kinds = new[] { "shareFolder", "addLink", "addGrant", "removePermission", "breakInheritance", "restoreInheritance" },
               }))
            r.EnsureSuccessStatusCode();
        var inc = new IngestRun(DateTimeOffset.UtcNow.AddMinutes(5));
        sw.Restart();
        await send(new IngestUsersDelta.Command(inc));
        await send(new IngestGroupsDelta.Command(inc));
        await send(new IngestSites.Command(inc));
        await send(new IngestDrives.Command(options, inc));
        await send(new IngestDriveItemsDelta.Command(options, inc));
        var incDelta = sw.Elapsed;
        var incScan = await send(new ScanPermissionsBatch.Command(options, inc));
        var incScanTime = sw.Elapsed - incDelta;
        await send(new RefreshImpactedViews.Command());
        var incTotal = sw.Elapsed;
        Console.WriteLine($"incremental after {mutations} sharing mutations: delta {incDelta.TotalSeconds:F1}s, scan {incScanTime.TotalSeconds:F1}s ({incScan.PermissionCalls} calls), total with views {incTotal.TotalSeconds:F1}s, ru={inc.Graph.ResourceUnits}");

        // Report.
        var minimum = 5 * roots;
        var rootsRu = scanRu;
        var perFileRu = 5 * files;
        Console.WriteLine();
        Console.WriteLine($"| model | permission calls | permission RU | + inventory RU | total RU | vs minimum (5 × {roots:N0} roots = {minimum:N0} RU) | wall time to full posture (latency {latency} ms, concurrency {options.PermissionConcurrency}) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        Console.WriteLine($"| hierarchy roots | {scan.PermissionCalls:N0} | {rootsRu:N0} | {inventory.ResourceUnits:N0} | {rootsRu + inventory.ResourceUnits:N0} | {(double)rootsRu / minimum:F2}× | {(inventory.Elapsed + scanTime + refreshTime).TotalSeconds:F0} s (inventory {inventory.Elapsed.TotalSeconds:F0} + roots {scanTime.TotalSeconds:F0} + views {refreshTime.TotalSeconds:F0}) |");
        Console.WriteLine($"| per file (old) | {files:N0} | {perFileRu:N0} | {inventory.ResourceUnits:N0} | {perFileRu + inventory.ResourceUnits:N0} | {(double)perFileRu / minimum:F2}× | ≈ {(inventory.Elapsed + perFileTime).TotalSeconds:F0} s (inventory {inventory.Elapsed.TotalSeconds:F0} + files ≈ {perFileTime.TotalSeconds:F0}, extrapolated from {picked.Count:N0}) |");
        Console.WriteLine();
        Console.WriteLine("| tier | RU/min | RU/day | roots model: time bound (RU/min) | fits one day? | per-file model: time bound | fits one day? |");
        Console.WriteLine("| --- | ---: | ---: | ---: | --- | ---: | --- |");
        foreach (var (tier, perMinute, perDay) in Tiers)
        {
            var a = rootsRu + inventory.ResourceUnits;
            var b = perFileRu + inventory.ResourceUnits;
            Console.WriteLine($"| {tier} | {perMinute:N0} | {perDay:N0} | {Bound(a, perMinute, perDay)} | {(a <= perDay ? "yes" : "no")} | {Bound(b, perMinute, perDay)} | {(b <= perDay ? "yes" : "no")} |");
        }
        Console.WriteLine();
        Console.WriteLine($"steady state: {mutations} sharing mutations → incremental run {incTotal.TotalSeconds:F0} s (delta {incDelta.TotalSeconds:F0} s, {incScan.PermissionCalls} permission calls {incScanTime.TotalSeconds:F0} s), {inc.Graph.ResourceUnits:N0} RU");
        return 0;
    }

    /// <summary>Minutes at the per-minute rate, or days when the daily budget is the binding limit.</summary>
    private static string Bound(long ru, long perMinute, long perDay)
    {
        var minutes = (double)ru / perMinute;
        if (ru <= perDay) return minutes < 90 ? $"{minutes:F0} min" : $"{minutes / 60:F1} h";
        return $"{Math.Ceiling((double)ru / perDay):F0} days (daily cap)";
    }
}
