using FluentValidation;
using FluentValidation.Results;
using Microsoft.Extensions.DependencyInjection;

namespace Sentinel.Features.Infrastructure;

/// <summary>
/// A request's validators, run as the pipeline runs them; hosts call <see cref="ValidateAsync{TRequest}"/> when they must
/// reject bad input before a step that comes ahead of sending (e.g. run-once migrates the database first).
/// </summary>
public static class RequestValidation
{
    public static Task ValidateAsync<TRequest>(this IServiceProvider services, TRequest request, CancellationToken ct = default) =>
        ThrowIfInvalidAsync(services.GetServices<IValidator<TRequest>>(), request, ct);

    internal static async Task ThrowIfInvalidAsync<TRequest>(IEnumerable<IValidator<TRequest>> validators, TRequest request, CancellationToken ct)
    {
        var failures = new List<ValidationFailure>();
        foreach (var validator in validators)
            failures.AddRange((await validator.ValidateAsync(new ValidationContext<TRequest>(request), ct)).Errors);
        if (failures.Count > 0)
            throw new RequestValidationException(failures
                .GroupBy(f => ToSnakeCase(f.PropertyName))
                .ToDictionary(g => g.Key, g => g.Select(f => f.ErrorMessage).Distinct().ToArray()));
    }

    internal static string ToSnakeCase(string name) =>
        string.Join('.', name.Split('.').Select(p => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(p)));
}
