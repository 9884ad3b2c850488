using FluentValidation;

namespace Sentinel.Features.Jobs;

/// <summary>
/// Config checks shared by CreateJob, UpdateJob and StartCliRun: a JSON object within size, then the
/// <see cref="JobConfigValidator"/> of the job's type.
/// </summary>
internal static class JobConfigRules
{
    public const int MaxLength = 65536;

    private static readonly Lazy<IReadOnlyDictionary<string, JobConfigValidator>> Validators = new(() =>
        typeof(JobConfigValidator).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: false } && t.IsSubclassOf(typeof(JobConfigValidator)))
            .Select(t => (JobConfigValidator)Activator.CreateInstance(t, nonPublic: true)!)
            .ToDictionary(v => v.JobType));

    public static JobConfigValidator? ValidatorFor(string jobType) => Validators.Value.GetValueOrDefault(jobType);

    /// <summary>
    /// Problems of <paramref name="config"/> (null or empty = {}) for a job of <paramref name="jobType"/>; with a null or
    /// unknown type only the shape is checked (UpdateJob learns the type when it reads the job; CreateJob reports the type itself).
    /// </summary>
    public static IEnumerable<(string Field, string Message)> Problems(string? jobType, string? config)
    {
        if (config is { Length: > MaxLength })
            return [("config", $"config must be at most {MaxLength} characters")];
        var (parsed, error) = JobTypes.ParseConfig(config);
        if (error is not null) return [("config", $"config {error}")];
        if (jobType is null || ValidatorFor(jobType) is not { } validator) return [];
        return validator.Validate(parsed!).Errors.Select(e => (e.PropertyName, e.ErrorMessage)).ToList();
    }

    /// <summary>The rule for a request's config field; <paramref name="jobType"/> reads the request's job type.</summary>
    public static IRuleBuilderOptionsConditions<T, string?> ValidJobConfig<T>(this IRuleBuilder<T, string?> rule, Func<T, string?> jobType) =>
        rule.Custom((config, ctx) =>
        {
            foreach (var (field, message) in Problems(jobType(ctx.InstanceToValidate), config)) ctx.AddFailure(field, message);
        });
}
