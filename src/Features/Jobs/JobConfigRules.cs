namespace Sentinel.Features.Jobs;

/// <summary>Config checks shared by CreateJob and UpdateJob: a JSON object within size, then the job type's own rules.</summary>
internal static class JobConfigRules
{
    public const int MaxLength = 65536;

    public static IEnumerable<(string Field, string Message)> Problems(string? jobType, string? config)
    {
        if (config is { Length: > MaxLength })
            return [("config", $"config must be at most {MaxLength} characters")];
        var (parsed, error) = JobTypes.ParseConfig(config);
        if (error is not null) return [("config", $"config {error}")];
        return JobTypes.IsKnown(jobType) ? JobTypes.ValidateConfig(jobType!, parsed!).ToList() : [];
    }
}
