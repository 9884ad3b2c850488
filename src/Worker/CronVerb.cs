using System.Globalization;
using MediatR;
using Sentinel.Features.Cron;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Worker;

/// <summary>
/// `worker cron next "&lt;expr&gt;" [--tz Europe/Berlin] [--from 2026-03-29T00:30:00Z] [--count 5]`: prints the next
/// occurrences (UTC, ISO-8601 with Z), one per line. Needs no database; bad input → exit 2 naming the field.
/// </summary>
internal static class CronVerb
{
    public const string Usage = "usage: worker cron next \"<expr>\" [--tz <IANA zone>] [--from <ISO-8601 instant>] [--count <1-100>]";

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        if (args.Length < 2 || args[0] != "next")
        {
            await Console.Error.WriteLineAsync("error: " + Usage);
            return WorkerCli.ExitUsage;
        }

        string? tz = null;
        DateTimeOffset? from = null;
        var count = 5;
        for (var i = 2; i < args.Length; i++)
        {
            var option = args[i];
            if (i + 1 >= args.Length)
                throw RequestValidationException.For(option.TrimStart('-'), $"{option} needs a value; {Usage}");
            var value = args[++i];
            switch (option)
            {
                case "--tz":
                    tz = value;
                    break;
                case "--from":
                    if (!DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
                        throw RequestValidationException.For("from", $"'{value}' is not an ISO-8601 instant such as 2026-03-29T00:30:00Z");
                    from = parsed;
                    break;
                case "--count":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out count))
                        throw RequestValidationException.For("count", $"'{value}' is not a whole number");
                    break;
                default:
                    throw RequestValidationException.For("options", $"unknown option '{option}'; {Usage}");
            }
        }

        // The preview slice needs no database: the data source in the container is never opened.
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSentinelFeatures(HostRole.Worker, "Host=unused.invalid");
        await using var provider = services.BuildServiceProvider();
        using var scope = provider.CreateScope();
        var result = await scope.ServiceProvider.GetRequiredService<IMediator>()
            .Send(new PreviewSchedule.Query(args[1], tz, from, count), ct);
        foreach (var occurrence in result.Occurrences)
            Console.WriteLine(FormatUtc(occurrence));
        return WorkerCli.ExitOk;
    }

    public static string FormatUtc(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
