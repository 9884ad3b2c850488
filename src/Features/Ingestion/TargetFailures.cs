using System.Collections.Concurrent;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// The targets one ingest run tried, and those it could not ingest (issue 11: one failing target must not fail the
/// run). A phase reports each target it finishes with <see cref="Succeeded"/> or <see cref="Failed"/>; the executor
/// persists them after every phase (<see cref="RecordTargetFailures"/>: consecutive failures survive across runs,
/// a success clears them) and ends the run <c>partial</c> when some failed, <c>failed</c> when every one did.
/// A failed target keeps its checkpoint (delta link, permissions_dirty, …) so the next run retries it.
/// Usage: <c>run.Failures.Failed(TargetFailures.Drive, driveId, TargetFailures.ReasonOf(response));</c>
/// Thread-safe: phases report from parallel workers.
/// </summary>
public sealed class TargetFailures
{
    /// <summary>Target types (ingest_target_failures.target_type).</summary>
    public const string SiteDrives = "site_drives", UserDrive = "user_drive", Drive = "drive", Site = "site",
        Permissions = "item_permissions";

    /// <summary>One failed target: a short reason code (e.g. <c>http_403_accessDenied</c>) and a secret-free message.</summary>
    public sealed record Failure(string TargetType, string TargetId, string Reason, string? Message, string? TargetName);

    private readonly ConcurrentDictionary<(string, string), Failure> _pendingFailed = new();
    private readonly ConcurrentDictionary<(string, string), byte> _pendingSucceeded = new();
    private readonly ConcurrentDictionary<(string, string), Failure> _allFailed = new();
    private HashSet<(string, string)> _previouslyFailed = [];
    private long _succeeded;

    /// <summary>Targets that were failing before this run (loaded by <see cref="RecordTargetFailures"/>): only their successes need a write.</summary>
    internal void SetPreviouslyFailed(IEnumerable<(string Type, string Id)> keys)
    {
        _previouslyFailed = keys.ToHashSet();
        Loaded = true;
    }

    internal bool Loaded { get; private set; }

    public void Failed(string targetType, string targetId, string reason, string? message = null, string? targetName = null)
    {
        var failure = new Failure(targetType, targetId, reason, message is { Length: > 300 } ? message[..300] : message, targetName);
        _allFailed[(targetType, targetId)] = failure;
        _pendingFailed[(targetType, targetId)] = failure;
        _pendingSucceeded.TryRemove((targetType, targetId), out _);
    }

    /// <summary>Cheap enough per item: only a target that was failing before is remembered (its failure row is cleared).</summary>
    public void Succeeded(string targetType, string targetId)
    {
        Interlocked.Increment(ref _succeeded);
        if (_previouslyFailed.Contains((targetType, targetId)) && !_allFailed.ContainsKey((targetType, targetId)))
            _pendingSucceeded.TryAdd((targetType, targetId), 0);
    }

    /// <summary>Every target that failed in this run so far.</summary>
    public IReadOnlyCollection<Failure> All => _allFailed.Values.OrderBy(f => f.TargetType).ThenBy(f => f.TargetId, StringComparer.Ordinal).ToList();

    public int FailedCount => _allFailed.Count;

    /// <summary>Successful target reports (a run where targets were tried and none succeeded is <c>failed</c>, not partial).</summary>
    public long SucceededCount => Interlocked.Read(ref _succeeded);

    /// <summary>Hands over what was reported since the last drain (the persistence slice writes it once).</summary>
    internal (List<Failure> Failed, List<(string Type, string Id)> Succeeded) Drain()
    {
        var failed = new List<Failure>();
        foreach (var key in _pendingFailed.Keys)
            if (_pendingFailed.TryRemove(key, out var f)) failed.Add(f);
        var succeeded = new List<(string, string)>();
        foreach (var key in _pendingSucceeded.Keys)
            if (_pendingSucceeded.TryRemove(key, out _)) succeeded.Add(key);
        return (failed, succeeded);
    }

    /// <summary>Reason code of a non-success Graph answer: <c>http_{status}</c> plus Graph's error code when it has one.</summary>
    public static string ReasonOf(GraphResponse response) =>
        response.ErrorCode() is { Length: > 0 } code ? $"http_{(int)response.Status}_{code}" : $"http_{(int)response.Status}";

    /// <summary>Reason code of a request that failed after every retry (5xx, timeouts, throttling that never ended).</summary>
    public static string ReasonOf(JobFailedException e) => e.Code;

    /// <summary>
    /// Whether a failure concerns only the target being worked on (record it, go on with the others) or the whole run
    /// (no credentials, no token: nothing can be done — the run fails).
    /// </summary>
    public static bool IsTargetFailure(JobFailedException e) => e.Code is not ("graph_not_configured" or "graph_auth_failed" or "invalid_config");
}
