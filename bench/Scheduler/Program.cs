using System.Diagnostics;
using Dapper;
using MediatR;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sentinel.Features.Database;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;
using Sentinel.Features.Runs;
using Sentinel.Features.Execution;

// Scheduler benchmark. Not a test: figures go to bench/results/scheduler.md.
//   latency     run-now → started_at through the real worker (`Sentinel.Worker serve`, SCHEDULER_POLL_SECONDS=30)
//   throughput  N due schedules claimed by K worker processes running the real scheduler loop with a no-op job
//   worker      (internal) one such worker process
// BENCH_SERVER_URL names a PostgreSQL server the bench may create databases on.
var mode = args.FirstOrDefault() ?? "all";
var server = Environment.GetEnvironmentVariable("BENCH_SERVER_URL") ?? "postgres://postgres@127.0.0.1:5501/postgres";
if (mode == "worker") return await Bench.WorkerAsync();
if (mode is "latency" or "all") await Bench.LatencyAsync(server, Bench.Int("BENCH_RUNS", 40));
if (mode is "throughput" or "all")
    await Bench.ThroughputAsync(server, Bench.Int("BENCH_SCHEDULES", 1000), Bench.Int("BENCH_WORKERS", 3), Bench.Int("BENCH_ROUNDS", 3));
return 0;

internal static class Bench
{
    public static int Int(string name, int fallback) => int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : fallback;

    private static async Task<string> FreshDatabaseAsync(string server, string name)
    {
        var admin = DatabaseUrl.ToConnectionString(server);
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.ExecuteAsync($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            await connection.ExecuteAsync($"CREATE DATABASE \"{name}\"");
        }
        var cs = new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 50 }.ConnectionString;
        await using var provider = Provider(cs);
        using var scope = provider.CreateScope();
        await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new ApplyMigrations.Command(ApplyMigrations.DefaultDirectory()));
        return cs;
    }

    private static ServiceProvider Provider(string cs)
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddSentinelFeatures(HostRole.Worker, cs);
        return services.BuildServiceProvider();
    }

    private static Process Start(string dll, string[] args, Dictionary<string, string> env)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in env) start.Environment[k] = v;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data?.Contains("fail", StringComparison.OrdinalIgnoreCase) == true) Console.Error.WriteLine($"  [{process.Id}] {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (!string.IsNullOrEmpty(e.Data)) Console.Error.WriteLine($"  [{process.Id}] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task StopAsync(Process process)
    {
        if (process.HasExited) return;
        // SIGTERM: the graceful path (stop claiming, close runs); hard kill only if it hangs.
        Process.Start("kill", ["-TERM", process.Id.ToString()])!.WaitForExit();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await process.WaitForExitAsync(timeout.Token); } catch (OperationCanceledException) { process.Kill(true); }
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    public static async Task LatencyAsync(string server, int runs)
    {
        var cs = await FreshDatabaseAsync(server, "sentinel_bench_sched_latency");
        const int port = 18581;
        var worker = Start("Sentinel.Worker.dll", ["serve"], new()
        {
            ["DATABASE_URL"] = cs, ["SCHEDULER_POLL_SECONDS"] = "30", ["SENTINEL_SEED_JOBS"] = "false", ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["SENTINEL_DB_INIT_DIR"] = ApplyMigrations.DefaultDirectory(), ["Logging__LogLevel__Default"] = "Warning",
        });
        try
        {
            using var http = new HttpClient();
            var ready = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    var health = await http.GetStringAsync($"http://127.0.0.1:{port}/health");
                    if (health.Contains("\"alive\":true")) break;
                }
                catch (HttpRequestException) { }
                if (ready.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("worker did not become healthy");
                await Task.Delay(100);
            }

            await using var provider = Provider(cs);
            var mediator = provider.GetRequiredService<IMediator>();
            var actor = new Actor(null, "bench", "scheduler bench");
            var job = await mediator.Send(new CreateJob.Command(JobTypes.RefreshMv, null, true, "bench refresh", actor));
            await using var connection = new NpgsqlConnection(cs);
            await connection.OpenAsync();
            var latencies = new List<double>();
            var observed = new List<double>();
            for (var i = 0; i < runs + 3; i++)
            {
                var wait = Stopwatch.StartNew();
                var request = await mediator.Send(new RunNow.Command(job.JobId, false, actor));
                (DateTime RequestedAt, DateTime? StartedAt, string? Status) row;
                double? seen = null;
                do
                {
                    await Task.Delay(1);
                    row = await connection.QuerySingleAsync<(DateTime, DateTime?, string?)>("""
                        SELECT q.requested_at, r.started_at, r.status FROM job_run_requests q LEFT JOIN job_runs r ON r.run_id = q.run_id
                         WHERE q.request_id = @Id
                        """, new { Id = request.RequestId });
                    if (row.StartedAt is not null) seen ??= wait.Elapsed.TotalMilliseconds;
                    if (wait.Elapsed > TimeSpan.FromSeconds(90)) throw new TimeoutException("run-now was not picked up");
                } while (row.Status is null or "running");
                if (i >= 3) // the first runs warm the JIT
                {
                    latencies.Add((row.StartedAt!.Value - row.RequestedAt).TotalMilliseconds);
                    observed.Add(seen!.Value);
                }
            }
            latencies.Sort();
            observed.Sort();
            Console.WriteLine($"latency: run-now → started_at over {latencies.Count} runs, SCHEDULER_POLL_SECONDS=30, real worker process (refresh_mv job)");
            Console.WriteLine($"  started_at - requested_at (two processes' clocks): p50 {Percentile(latencies, 0.5):F1} ms   p95 {Percentile(latencies, 0.95):F1} ms   max {latencies[^1]:F1} ms");
            Console.WriteLine($"  observed by the caller (send RunNow → run row visible, 1 ms polling): p50 {Percentile(observed, 0.5):F1} ms   p95 {Percentile(observed, 0.95):F1} ms   max {observed[^1]:F1} ms");
        }
        finally
        {
            await StopAsync(worker);
        }
    }

    public static async Task ThroughputAsync(string server, int schedules, int workers, int rounds)
    {
        var cs = await FreshDatabaseAsync(server, "sentinel_bench_sched_throughput");
        await using (var connection = new NpgsqlConnection(cs))
        {
            // Yearly cron with next_run_at NULL (not due) until the round starts: each round, every schedule is due exactly once.
            await connection.ExecuteAsync("""
                INSERT INTO jobs (job_id, job_type, name) SELECT gen_random_uuid(), 'bench_noop', 'bench ' || g FROM generate_series(1, @schedules) g;
                INSERT INTO job_schedules (schedule_id, job_id, cron_expr, next_run_at, timezone) SELECT gen_random_uuid(), job_id, '0 0 1 1 *', NULL, 'UTC' FROM jobs;
                """, new { schedules });
        }
        var workMs = Int("BENCH_WORK_MS", 5);
        var concurrency = Int("BENCH_CONCURRENCY", 8);
        var processes = Enumerable.Range(0, workers).Select(_ => Start("Sentinel.Bench.Scheduler.dll", ["worker"], new()
        {
            ["DATABASE_URL"] = cs, ["SCHEDULER_POLL_SECONDS"] = "1", ["SCHEDULER_MAX_CONCURRENT_RUNS"] = concurrency.ToString(), ["BENCH_WORK_MS"] = workMs.ToString(),
        })).ToList();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(4)); // let the processes start and tick once
            Console.WriteLine($"throughput: {schedules} due schedules, {workers} worker processes × {concurrency} concurrent runs, {workMs} ms of work per run, poll 1 s");
            await using var connection = new NpgsqlConnection(cs);
            await connection.OpenAsync();
            for (var round = 1; round <= rounds; round++)
            {
                var before = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM job_runs");
                var t0 = await connection.ExecuteScalarAsync<DateTime>("UPDATE job_schedules SET next_run_at = now() RETURNING now()");
                var sw = Stopwatch.StartNew();
                while (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM job_runs WHERE status <> 'running'") - before < schedules)
                {
                    if (sw.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException("runs did not finish");
                    await Task.Delay(50);
                }
                await Task.Delay(1500); // anything that would run twice has had time to show up
                var stats = await connection.QuerySingleAsync<(long Runs, long Occurrences, long Jobs, long Failed, DateTime Last, long Workers)>("""
                    SELECT count(*), count(DISTINCT (schedule_id, scheduled_for)), count(DISTINCT job_id), count(*) FILTER (WHERE status <> 'success'),
                           max(finished_at), count(DISTINCT worker_id)
                      FROM job_runs WHERE started_at >= @t0
                    """, new { t0 });
                var overlaps = await connection.ExecuteScalarAsync<long>("""
                    SELECT count(*) FROM job_runs a JOIN job_runs b ON a.job_id = b.job_id AND a.run_id < b.run_id
                     WHERE tstzrange(a.started_at, a.finished_at) && tstzrange(b.started_at, b.finished_at)
                    """);
                var perWorker = (await connection.QueryAsync<(string Worker, long Runs)>(
                    "SELECT worker_id, count(*) FROM job_runs WHERE started_at >= @t0 GROUP BY worker_id ORDER BY worker_id", new { t0 })).ToList();
                var seconds = (stats.Last - t0).TotalSeconds;
                Console.WriteLine($"  round {round}: {stats.Runs} runs for {schedules} due occurrences in {seconds:F2} s = {stats.Runs / seconds:F0} runs/s; " +
                                  $"duplicates {stats.Runs - stats.Occurrences}, jobs run {stats.Jobs}, failed {stats.Failed}, overlapping runs of one job {overlaps}; " +
                                  $"per worker {string.Join(" / ", perWorker.Select(p => p.Runs))}");
            }
        }
        finally
        {
            await Task.WhenAll(processes.Select(StopAsync));
        }
    }

    /// <summary>One worker process: the real scheduler loop and run bookkeeping, with a no-op executor.</summary>
    public static async Task<int> WorkerAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        var settings = SentinelSettings.FromConfiguration(builder.Configuration);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSentinelFeatures(HostRole.Worker, settings.ConnectionString);
        builder.Services.AddScheduler(SchedulerConfiguration.FromConfiguration(builder.Configuration, settings));
        builder.Services.AddScoped<IJobExecutor, NoopExecutor>();
        builder.Services.AddHostedService(p => p.GetRequiredService<Scheduler>());
        await builder.Build().RunAsync();
        return 0;
    }

    private sealed class NoopExecutor : IJobExecutor
    {
        private static readonly int WorkMs = Int("BENCH_WORK_MS", 5);
        public string JobType => "bench_noop";

        public async Task<JobOutcome> ExecuteAsync(JobRunContext run, CancellationToken ct)
        {
            if (WorkMs > 0) await Task.Delay(WorkMs, ct);
            return new JobOutcome(new Dictionary<string, object?>());
        }
    }
}
