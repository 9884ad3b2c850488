namespace Sentinel.Features.Ingestion;

/// <summary>How a delta round of one partition ended.</summary>
/// <param name="FailureReason">Set (only for isolated partitions) when Graph refused the partition: a reason code for
/// <see cref="TargetFailures"/>; the checkpoint is kept, so the next run retries from where this one stopped.</param>
internal sealed record DeltaRoundResult(int Pages, long Items, bool Resynced, bool RoundCompleted, bool NotFound, string? FailureReason = null, string? FailureMessage = null);
