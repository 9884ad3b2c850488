using System.Collections.Concurrent;
using Sentinel.Features.Graph;
using Sentinel.Features.Execution;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// What the phases of one graph_ingest run share: the run's time (<c>synced_at</c>), Graph call counters,
/// live counters and the progress sink. A slice sent on its own (tests, CLI) gets a fresh one.
/// </summary>
public sealed class IngestRun(DateTimeOffset startedAt, IRunProgress? progress = null)
{
    private readonly ConcurrentDictionary<string, long> _counters = new();
    private readonly SemaphoreSlim _reportLock = new(1, 1);
    private long _lastReport;

    public DateTimeOffset StartedAt { get; } = startedAt;
    /// <summary>The job run (ingest_target_failures.last_run_id); null when a slice runs on its own.</summary>
    public Guid? RunId { get; init; }
    /// <summary>Targets of this run that could not be ingested (the run ends partial); see <see cref="TargetFailures"/>.</summary>
    public TargetFailures Failures { get; } = new();
    public GraphCallStats Graph { get; } = new();
    public IRunProgress? Progress { get; } = progress;
    public string Phase { get; set; } = "";
    /// <summary>Minimum time between progress writes (tests use zero to observe every page).</summary>
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    public void Add(string counter, long by)
    {
        _counters.AddOrUpdate(counter, by, (_, v) => v + by);
        if (WrittenKinds.Contains(counter)) Infrastructure.SentinelMetrics.RowsWritten(counter, by);
    }

    /// <summary>Counters that count rows written (exported as sentinel.ingest.written by kind).</summary>
    private static readonly HashSet<string> WrittenKinds = ["users", "groups", "memberships", "sites", "drives", "items", "permissions", "grants"];
    public long Get(string counter) => _counters.TryGetValue(counter, out var v) ? v : 0;

    /// <summary>Every counter so far (benches print them).</summary>
    public IReadOnlyDictionary<string, long> Counters => _counters;

    /// <summary>Writes progress (at most every 250 ms unless forced) — called per page.</summary>
    public async Task ReportAsync(CancellationToken ct, bool force = false)
    {
        if (Progress is null) return;
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastReport);
        if (!force && now - last < (long)ReportInterval.TotalMilliseconds) return;
        if (Interlocked.CompareExchange(ref _lastReport, now, last) != last && !force) return;
        // Progress sinks are not required to be thread-safe: one report at a time, skip if one is running.
        if (force) await _reportLock.WaitAsync(ct);
        else if (!_reportLock.Wait(0)) return;
        try
        {
            var fields = new Dictionary<string, object?>(Graph.ToProgress()) { ["phase"] = Phase };
            foreach (var (k, v) in _counters) fields[k] = v;
            await Progress.ReportAsync(fields, ct);
        }
        finally { _reportLock.Release(); }
    }
}
