using System.Diagnostics;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// The real thing: `worker run-once graph_ingest` as a separate process, killed (SIGKILL) in the middle of the drive-item
/// phase and again in the middle of the permission scan; a third process run completes and the database matches the
/// ground truth — no duplicates (primary keys), nothing lost.
/// </summary>
public sealed class WorkerProcessKillTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    private const string Config = """{"drive_concurrency": 1, "permission_batch_size": 20, "permission_concurrency": 1}""";

    [Fact]
    public async Task Killing_the_worker_mid_drive_items_and_mid_permission_scan_loses_nothing_and_the_next_run_completes()
    {
        // Slow Graph down so that each phase lasts long enough to be interrupted.
        await fixture.SetFaultsAsync(new { latencyMinMs = 60, latencyMaxMs = 100 });
        try
        {
            using (var worker = StartWorker())
            {
                await WaitUntilAsync(worker, "SELECT count(*) >= 100 FROM msgraph_drive_items");
                worker.Kill(entireProcessTree: true);
                await worker.WaitForExitAsync();
            }
            var done = await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_delta_state WHERE resource_type = 'drive_items' AND delta_link IS NOT NULL");
            Assert.True(done < await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drives WHERE deleted_at IS NULL"), "killed after the drive-item phase");

            // Only the roots of permission hierarchies are scanned (~90 in the small tenant): slower calls keep the kill
            // point inside the scan.
            await fixture.SetFaultsAsync(new { latencyMinMs = 400, latencyMaxMs = 500 });
            using (var worker = StartWorker())
            {
                await WaitUntilAsync(worker, "SELECT count(*) >= 20 FROM msgraph_drive_items WHERE permissions_last_synced_at IS NOT NULL");
                worker.Kill(entireProcessTree: true);
                await worker.WaitForExitAsync();
            }
            var scanned = await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items WHERE permissions_last_synced_at IS NOT NULL");
            var roots = await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL AND has_unique_permissions");
            Assert.True(scanned < roots, "killed after the permission scan");
            await GroundTruth.AssertMatchesAsync(fixture, "users", "groups", "memberships", "sites", "drives", "items");
        }
        finally
        {
            await fixture.SetFaultsAsync(new { });
        }

        using (var worker = StartWorker())
        {
            var exited = worker.WaitForExitAsync();
            if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(90))) != exited)
            {
                worker.Kill(entireProcessTree: true);
                Assert.Fail("the third worker run did not finish in 90 s");
            }
            Assert.True(worker.ExitCode == 0, $"worker exited {worker.ExitCode}: {await worker.StandardError.ReadToEndAsync()}");
        }
        await GroundTruth.AssertMatchesAsync(fixture);
        // Every root of a permission hierarchy was scanned (inheriting items never need a call).
        Assert.Equal(0, await fixture.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items WHERE deleted_at IS NULL AND has_unique_permissions AND permissions_last_synced_at IS NULL"));
        Assert.Equal(1, await fixture.ScalarAsync<long>("SELECT count(*) FROM job_runs WHERE status = 'success'"));
    }

    private Process StartWorker()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Sentinel.Worker.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "run-once", "graph_ingest", "--config", Config }) info.ArgumentList.Add(a);
        info.Environment["DATABASE_URL"] = fixture.ConnectionString;
        info.Environment["ENTRA_INSTANCE"] = fixture.Sim.EntraInstance;
        info.Environment["ENTRA_TENANT_ID"] = fixture.Sim.TenantId;
        info.Environment["ENTRA_CLIENT_ID"] = fixture.Sim.ClientId;
        info.Environment["ENTRA_CLIENT_SECRET"] = fixture.Sim.ClientSecret;
        info.Environment["GRAPH_BASE_URL"] = fixture.Sim.GraphBaseUrl;
        info.Environment["SENTINEL_CA_FILE"] = fixture.Sim.CaFile;
        info.Environment["SENTINEL_SEED_JOBS"] = "0";
        var process = Process.Start(info)!;
        // Drain the pipes so the child never blocks on a full buffer.
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        return process;
    }

    private async Task WaitUntilAsync(Process worker, string conditionSql)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (worker.HasExited)
                Assert.Fail($"the worker exited ({worker.ExitCode}) before the kill point: {await worker.StandardError.ReadToEndAsync()}");
            if (await fixture.ScalarAsync<bool>(conditionSql)) return;
            await Task.Delay(15);
        }
        Assert.Fail("the kill point was never reached");
    }
}
