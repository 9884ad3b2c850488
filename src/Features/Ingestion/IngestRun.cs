using System.Collections.Concurrent;
using Sentinel.Features.Graph;
using Sentinel.Features.Execution;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// What the phases of one graph_ingest run share: the run's time (<c>synced_at</c>), Graph call counters,
/// live counters and the progress sink. A slice sent on its own (tests, CLI) gets a fresh one. Each phase of a run
/// works on a <see cref="Branch"/>: the same counters, failures and progress, and Graph counters of its own that also
/// count into the run's (phases may run at the same time, see <see cref="IngestPhasePlan"/>).
/// </summary>
public sealed class IngestRun
{
    private readonly IngestRun? _root;
    private readonly ConcurrentDictionary<string, long> _counters;
    private readonly SemaphoreSlim _reportLock = new(1, 1);
    private readonly ConcurrentDictionary<string, byte> _alongside = new();
    private long _lastReport;

    public IngestRun(DateTimeOffset startedAt, IRunProgress? progress = null)
    {
        StartedAt = startedAt;
        Progress = progress;
        _counters = new();
        Failures = new();
        Graph = new();
    }

    private IngestRun(IngestRun root)
    {
        _root = root;
        StartedAt = root.StartedAt;
        Progress = root.Progress;
        RunId = root.RunId;
        ReportInterval = root.ReportInterval;
        _counters = root._counters;
        Failures = root.Failures;
        Graph = new GraphCallStats(root.Graph);
    }

    /// <summary>A view of this run for one phase: shared counters, failures and progress; its own Graph counters.</summary>
    public IngestRun Branch() => new(_root ?? this);

    public DateTimeOffset StartedAt { get; }
    /// <summary>The job run (ingest_target_failures.last_run_id); null when a slice runs on its own.</summary>
    public Guid? RunId { get; init; }
    /// <summary>Targets of this run that could not be ingested (the run ends partial); see <see cref="TargetFailures"/>.</summary>
    public TargetFailures Failures { get; }
    public GraphCallStats Graph { get; }
    public IRunProgress? Progress { get; }

    /// <summary>The phase progress shows (the run's, whichever branch sets it).</summary>
    public string Phase
    {
        get => _root?.Phase ?? _phase;
        set { if (_root is not null) _root.Phase = value; else _phase = value; }
    }
    private string _phase = "";

    /// <summary>Phases running alongside <see cref="Phase"/> (progress field <c>alongside</c>).</summary>
    public IReadOnlyList<string> Alongside => (_root ?? this)._alongside.Keys.Order(StringComparer.Ordinal).ToList();
    internal void StartAlongside(string phase) => (_root ?? this)._alongside.TryAdd(phase, 0);
    internal void EndAlongside(string phase) => (_root ?? this)._alongside.TryRemove(phase, out _);

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

    /// <summary>Writes progress (at most every 250 ms unless forced) — called per page; a branch writes the run's.</summary>
    public Task ReportAsync(CancellationToken ct, bool force = false) => _root is not null ? _root.ReportAsync(ct, force) : ReportRunAsync(ct, force);

    private async Task ReportRunAsync(CancellationToken ct, bool force)
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
            if (Alongside is { Count: > 0 } alongside) fields["alongside"] = alongside;
            foreach (var (k, v) in _counters) fields[k] = v;
            await Progress.ReportAsync(fields, ct);
        }
        finally { _reportLock.Release(); }
    }
}
