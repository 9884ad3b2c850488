using System.Text.Json;

namespace Sentinel.Features.Runs;

/// <summary>One job run as ListRuns, GetRun and GetJobStatus show it (progress is the live/final job_runs.progress).</summary>
public sealed record RunView(
    Guid RunId, Guid JobId, string JobType, string? JobName, string Status, string TriggeredBy,
    DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, double? DurationSeconds, string? Error,
    Guid? ScheduleId, DateTimeOffset? ScheduledFor, string? WorkerId, DateTimeOffset? HeartbeatAt, DateTimeOffset? CancelRequestedAt,
    string? ActorOid, string? ActorUpn, string? ActorName, JsonElement Progress)
{
    public static readonly string[] Statuses = ["running", "success", "partial", "failed", "cancelled"];
    public static readonly string[] Triggers = ["schedule", "run_now", "cli"];

    /// <summary>The SELECT list (from job_runs r JOIN jobs j) that <see cref="Row"/> maps.</summary>
    internal const string Columns = """
        r.run_id, r.job_id, j.job_type, j.name AS job_name, r.status, r.triggered_by, r.started_at, r.finished_at,
        EXTRACT(EPOCH FROM (r.finished_at - r.started_at))::float8 AS duration_seconds, r.error,
        r.schedule_id, r.scheduled_for, r.worker_id, r.heartbeat_at, r.cancel_requested_at,
        r.actor_oid, r.actor_upn, r.actor_name, r.progress::text AS progress
        """;

    internal sealed class Row
    {
        public Guid RunId { get; init; }
        public Guid JobId { get; init; }
        public string JobType { get; init; } = "";
        public string? JobName { get; init; }
        public string Status { get; init; } = "";
        public string TriggeredBy { get; init; } = "";
        public DateTime? StartedAt { get; init; }
        public DateTime? FinishedAt { get; init; }
        public double? DurationSeconds { get; init; }
        public string? Error { get; init; }
        public Guid? ScheduleId { get; init; }
        public DateTime? ScheduledFor { get; init; }
        public string? WorkerId { get; init; }
        public DateTime? HeartbeatAt { get; init; }
        public DateTime? CancelRequestedAt { get; init; }
        public string? ActorOid { get; init; }
        public string? ActorUpn { get; init; }
        public string? ActorName { get; init; }
        public string Progress { get; init; } = "{}";

        public RunView ToView() => new(RunId, JobId, JobType, JobName, Status, TriggeredBy, Utc(StartedAt), Utc(FinishedAt), DurationSeconds, Error,
            ScheduleId, Utc(ScheduledFor), WorkerId, Utc(HeartbeatAt), Utc(CancelRequestedAt), ActorOid, ActorUpn, ActorName,
            JsonDocument.Parse(Progress).RootElement.Clone());
    }

    internal static DateTimeOffset? Utc(DateTime? value) =>
        value is { } v ? new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc)) : null;
}
