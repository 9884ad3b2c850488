namespace Sentinel.Features.Execution;

/// <summary>How a run ended, as recorded (or, when Recorded is false, as it would have been had nobody closed it first).</summary>
public sealed record RunOutcome(Guid RunId, string Status, string? Error, bool Recorded, IReadOnlyDictionary<string, object?> Summary);
