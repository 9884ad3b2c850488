using System.Diagnostics;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Worker;

/// <summary>The worker executable's scheduler verbs, run as a real process (exit codes and streams as a user sees them).</summary>
public sealed class WorkerCliTests(SliceFixture fixture) : IClassFixture<SliceFixture>
{
    private static async Task<(int Exit, string Out, string Err)> RunAsync(string[] args, string? databaseUrl = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Sentinel.Worker.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("DATABASE_URL");
        if (databaseUrl is not null) start.Environment["DATABASE_URL"] = databaseUrl;
        start.Environment["SENTINEL_DB_INIT_DIR"] = TestDatabase.MigrationsDirectory;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Cron_next_prints_utc_occurrences_after_from_without_a_database()
    {
        var (exit, stdout, stderr) = await RunAsync(["cron", "next", "30 2 * * *", "--tz", "Europe/Berlin", "--from", "2026-03-29T00:30:00Z", "--count", "3"]);
        Assert.True(exit == 0, stderr);
        Assert.Equal("2026-03-29T01:00:00Z\n2026-03-30T00:30:00Z\n2026-03-31T00:30:00Z\n", stdout.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData(new[] { "cron", "next", "0 0 * * 8" }, "day_of_week")]
    [InlineData(new[] { "cron", "next", "0 0 0 * * *" }, "expected 5 fields")]
    [InlineData(new[] { "cron", "next", "@daily", "--tz", "Mars/Olympus" }, "time_zone")]
    [InlineData(new[] { "cron", "next", "@daily", "--from", "yesterday" }, "from")]
    [InlineData(new[] { "cron", "next", "@daily", "--count", "0" }, "count")]
    public async Task Cron_next_rejects_bad_input_with_exit_2_naming_the_field(string[] args, string field)
    {
        var (exit, stdout, stderr) = await RunAsync(args);
        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains(field, stderr);
    }

    [Fact]
    public async Task Run_once_runs_refresh_mv_synchronously_and_records_a_cli_run()
    {
        var (exit, stdout, stderr) = await RunAsync(["run-once", "refresh_mv"], fixture.ConnectionString);

        Assert.True(exit == 0, stderr);
        Assert.Contains("succeeded", stdout);
        Assert.Equal(("success", "cli"), (await fixture.QueryAsync<(string, string)>("SELECT status, triggered_by FROM job_runs")).Single());
    }

    [Fact]
    public async Task Run_once_rejects_unknown_types_and_bad_config_with_exit_2()
    {
        var unknown = await RunAsync(["run-once", "mine_bitcoin"], fixture.ConnectionString);
        Assert.Equal(2, unknown.Exit);
        Assert.Contains("job_type", unknown.Err);

        var config = await RunAsync(["run-once", "refresh_mv", "--config", "[1]"], fixture.ConnectionString);
        Assert.Equal(2, config.Exit);
        Assert.Contains("config", config.Err);
    }
}
