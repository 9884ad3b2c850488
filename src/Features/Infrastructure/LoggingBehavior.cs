using System.Diagnostics;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Sentinel.Features.Infrastructure;

/// <summary>Logs each request's name, outcome and duration. Never the request body: it may carry secrets.</summary>
public sealed class LoggingBehavior<TRequest, TResponse>(ILogger<LoggingBehavior<TRequest, TResponse>> logger)
    : IPipelineBehavior<TRequest, TResponse>
{
    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        var name = RequestName(typeof(TRequest));
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await next();
            logger.LogDebug("{Request} handled in {ElapsedMs:F1} ms", name, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return response;
        }
        catch (RequestValidationException)
        {
            logger.LogInformation("{Request} rejected by validation after {ElapsedMs:F1} ms", name, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("{Request} failed after {ElapsedMs:F1} ms: {Error}", name, Stopwatch.GetElapsedTime(started).TotalMilliseconds, e.GetType().Name);
            throw;
        }
    }

    internal static string RequestName(Type t) => t.DeclaringType is { } outer ? $"{outer.Name}.{t.Name}" : t.Name;
}
