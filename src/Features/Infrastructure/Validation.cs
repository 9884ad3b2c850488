using FluentValidation;
using MediatR;

namespace Sentinel.Features.Infrastructure;

/// <summary>All validation failures of a request, grouped by field. Hosts map it to HTTP 400 / CLI exit 2.</summary>
public sealed class RequestValidationException(IReadOnlyDictionary<string, string[]> errors)
    : Exception("validation failed: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")))
{
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;

    public static RequestValidationException For(string field, string message) =>
        new(new Dictionary<string, string[]> { [field] = [message] });

    public object ToErrorBody() => new
    {
        error = "The request is invalid: " + string.Join("; ", Errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")),
        code = "validation_failed",
        details = Errors,
    };
}

/// <summary>Runs every validator of the request and reports all failures together, before the handler sees it.</summary>
public sealed class ValidationBehavior<TRequest, TResponse>(IEnumerable<IValidator<TRequest>> validators)
    : IPipelineBehavior<TRequest, TResponse>
{
    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        await RequestValidation.ThrowIfInvalidAsync(validators, request, cancellationToken);
        return await next();
    }
}

/// <summary>Field-level conflict a user can act on (e.g. run-now on a paused job without force): HTTP 409.</summary>
public sealed class ConflictException(string message, string code = "conflict") : Exception(message)
{
    public string Code { get; } = code;
}

/// <summary>The named entity does not exist: HTTP 404.</summary>
public sealed class NotFoundException(string entity, string id) : Exception($"{entity} '{id}' was not found")
{
    public string Entity { get; } = entity;
}
