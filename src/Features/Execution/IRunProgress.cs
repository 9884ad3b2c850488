namespace Sentinel.Features.Execution;

/// <summary>Live progress of a run: merged into job_runs.progress, heartbeat_at bumped. Cheap enough to call per page.</summary>
public interface IRunProgress
{
    Task ReportAsync(IReadOnlyDictionary<string, object?> fields, CancellationToken ct);

    /// <summary>Writes an audit event attributed to the run's actor (phase milestones, counts).</summary>
    Task AuditAsync(string action, object details, CancellationToken ct);
}
