using System.Text.Json;
using MediatR;
using Sentinel.Features.Database;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;
using Sentinel.Features.Execution;

namespace Sentinel.Worker;

/// <summary>
/// `worker run-once &lt;job_type&gt; [--config '&lt;json&gt;']`: runs one job synchronously through the same executor and
/// run bookkeeping as the scheduler (triggered_by = cli). Exit 0 on success, 1 on failure (error on stderr),
/// 2 on bad input. Ctrl-C cancels the run (closed as cancelled, shutdown).
/// </summary>
internal static class RunOnceVerb
{
    public const string Usage = "usage: worker run-once <job_type> [--config '<json object>']";

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        if (args.Length < 1 || args[0].StartsWith('-'))
        {
            await Console.Error.WriteLineAsync("error: " + Usage);
            return WorkerCli.ExitUsage;
        }
        string? config = null;
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length) config = args[++i];
            else throw RequestValidationException.For("options", $"unexpected argument '{args[i]}'; {Usage}");
        }

        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var services = new ServiceCollection();
        services.AddLogging(l => l.AddSimpleConsole(o => { o.SingleLine = true; o.UseUtcTimestamp = true; }).SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<IConfiguration>(configuration);
        WorkerHost.ConfigureServices(services, configuration);
        await using var provider = services.BuildServiceProvider();

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };

        ClaimedRun run;
        using (var scope = provider.CreateScope())
        {
            var mediator = scope.ServiceProvider.GetRequiredService<IMediator>();
            // Validate before touching the database (the slice's own rules), then make sure the schema is there (as serve does).
            var command = new StartCliRun.Command(args[0], config, provider.GetRequiredService<SchedulerOptions>().WorkerId);
            await scope.ServiceProvider.ValidateAsync(command, cts.Token);
            await mediator.Send(new ApplyMigrations.Command(ApplyMigrations.DefaultDirectory()), cts.Token);
            run = await mediator.Send(command, cts.Token);
        }

        Console.WriteLine($"run {run.RunId} of job {run.JobId} ({run.JobType}) started");
        var outcome = await provider.GetRequiredService<JobRunner>().RunAsync(run, cts.Token);
        if (outcome.Status == "success")
        {
            Console.WriteLine($"run {outcome.RunId} succeeded: {JsonSerializer.Serialize(outcome.Summary, Json.Options)}");
            return WorkerCli.ExitOk;
        }
        await Console.Error.WriteLineAsync($"error: run {outcome.RunId} {outcome.Status}: {outcome.Error}");
        return WorkerCli.ExitFailure;
    }
}
