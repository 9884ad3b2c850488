using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Sentinel.Features.Infrastructure;

/// <summary>
/// Maps the features' error values to JSON responses for API routes:
/// validation → 400 {error, code: validation_failed, details}, not found → 404, conflict → 409, anything else → 500
/// with a generic message (details go to the log, never to the caller).
/// </summary>
public static class HttpErrors
{
    public static IApplicationBuilder UseSentinelJsonErrors(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception e) when (!context.Response.HasStarted && e is not OperationCanceledException)
            {
                var (status, body) = ToResponse(e);
                if (status == 500 && context.RequestServices.GetService(typeof(ILoggerFactory)) is ILoggerFactory lf)
                    lf.CreateLogger("Sentinel.Errors").LogError(e, "unhandled error on {Path}", context.Request.Path.Value);
                context.Response.Clear();
                context.Response.StatusCode = status;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(JsonSerializer.Serialize(body, Json.Options));
            }
        });

    public static (int Status, object Body) ToResponse(Exception e) => e switch
    {
        RequestValidationException v => (400, v.ToErrorBody()),
        NotFoundException n => (404, new { error = n.Message, code = "not_found" }),
        ConflictException c => (409, new { error = c.Message, code = c.Code }),
        BadHttpRequestException b => (400, new { error = "The request body could not be read: " + b.Message, code = "bad_request" }),
        JsonException j => (400, new { error = "The request body is not valid JSON: " + j.Message, code = "bad_request" }),
        _ => (500, new { error = "An unexpected error occurred; see the server log.", code = "internal_error" }),
    };
}
