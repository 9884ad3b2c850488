using FluentValidation;

namespace Sentinel.Features.Live;

/// <summary>What a Graph drive or item id may look like before it is put into a request path (every live slice that takes one).</summary>
internal static class GraphIdRules
{
    private const string Pattern = @"^[A-Za-z0-9!_\-\.]+$";

    public static IRuleBuilderOptions<T, string> GraphId<T>(this IRuleBuilder<T, string> rule, string field, string what) =>
        rule.NotEmpty().MaximumLength(300).Matches(Pattern).WithMessage($"{field} must be a Graph {what} id");
}
