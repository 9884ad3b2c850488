using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Sentinel.Features.Infrastructure;

/// <summary>
/// The product's OpenTelemetry instruments (meter and activity source "Sentinel"); README's observability
/// section lists every metric. Instruments are process-wide, like the meter they belong to; hosts export them
/// through <c>AddSentinelTelemetry</c>.
/// </summary>
public static class SentinelMetrics
{
    public const string Name = "Sentinel";

    public static readonly Meter Meter = new(Name, "1.0");
    public static readonly ActivitySource Activities = new(Name, "1.0");

    private static readonly Counter<long> GraphRequests = Meter.CreateCounter<long>("sentinel.graph.requests", "{request}",
        "Graph HTTP attempts by status code (0 = no answer: timeout or connection failure)");
    private static readonly Counter<long> GraphThrottled = Meter.CreateCounter<long>("sentinel.graph.throttled", "{request}",
        "Graph answers 429/503 (top level and inside $batch)");
    private static readonly Counter<long> GraphRetries = Meter.CreateCounter<long>("sentinel.graph.retries", "{retry}",
        "Graph calls or $batch rounds retried by the resilience pipeline");
    private static readonly Counter<long> GraphResourceUnits = Meter.CreateCounter<long>("sentinel.graph.resource_units", "{ru}",
        "SharePoint/Graph resource units drawn from the tenant budget");
    private static readonly Counter<long> Runs = Meter.CreateCounter<long>("sentinel.runs", "{run}",
        "Job runs finished, by job type and status");
    private static readonly Histogram<double> RunDuration = Meter.CreateHistogram<double>("sentinel.run.duration", "s",
        "Job run duration from start to finish, by job type and status");
    private static readonly Histogram<double> SchedulerLag = Meter.CreateHistogram<double>("sentinel.scheduler.lag", "s",
        "Time from a run's due time to its start, by job type");
    private static readonly Counter<long> Written = Meter.CreateCounter<long>("sentinel.ingest.written", "{row}",
        "Rows written by ingestion, by kind (items, permissions, users, groups, sites, drives)");

    public static void GraphAnswered(int status) => GraphRequests.Add(1, new KeyValuePair<string, object?>("status", status));
    public static void GraphThrottle() => GraphThrottled.Add(1);
    public static void GraphRetry() => GraphRetries.Add(1);
    public static void GraphSpent(int ru) => GraphResourceUnits.Add(ru);

    public static void RunFinished(string jobType, string status, TimeSpan duration)
    {
        var tags = new TagList { { "job_type", jobType }, { "status", status } };
        Runs.Add(1, tags);
        RunDuration.Record(duration.TotalSeconds, tags);
    }

    public static void RunStarted(string jobType, TimeSpan lag) =>
        SchedulerLag.Record(Math.Max(0, lag.TotalSeconds), new KeyValuePair<string, object?>("job_type", jobType));

    public static void RowsWritten(string kind, long count)
    {
        if (count > 0) Written.Add(count, new KeyValuePair<string, object?>("kind", kind));
    }
}
