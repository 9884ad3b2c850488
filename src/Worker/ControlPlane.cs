using System.Security.Claims;
using System.Text.Json;
using Dapper;
using MediatR;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Jobs;
using Sentinel.Features.Runs;
using Sentinel.Features.Execution;

namespace Sentinel.Worker;

/// <summary>
/// The worker's internal control plane. /health is open; everything else needs an Entra access token for the shared app
/// registration, validated by Microsoft.Identity.Web (<see cref="EntraAuth.AddEntraApi"/>): v1 or v2 issuer of the
/// tenant, signature (discovery JWKS), audience {client id} or api://{client id}, lifetime, azp/appid = the client id,
/// delegated scope access_as_user, and the app role Sentinel.Operator or Sentinel.Admin. Delegated only
/// (<see cref="EntraAuth.ApiCallers.DelegatedOnly"/>): the web calls it on behalf of a signed-in user and every action is
/// audited as that user; an app-only token is refused even with an app role. Metadata is fetched on the first
/// authenticated request, so the worker starts even when Entra is unreachable.
/// </summary>
internal static class ControlPlane
{
    public const string OperatorPolicy = "sentinel-operator";
    public static readonly string[] OperatorRoles = EntraAuth.OperatorRoles;

    public static void AddAuth(IServiceCollection services, SentinelSettings settings)
    {
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddEntraApi(settings, JwtBearerDefaults.AuthenticationScheme, EntraAuth.ApiCallers.DelegatedOnly,
                (context, why) => WriteErrorAsync(context.Response, 401, why, "unauthorized"),
                context => WriteErrorAsync(context.Response, 403, "the token lacks the app role Sentinel.Operator or Sentinel.Admin", "forbidden"));
        services.AddAuthorizationBuilder().AddPolicy(OperatorPolicy, p => p.RequireAuthenticatedUser().RequireRole(OperatorRoles));
    }

    private static Task WriteErrorAsync(HttpResponse response, int status, string error, string code)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        return response.WriteAsync(JsonSerializer.Serialize(new { error, code }, Json.Options));
    }

    public static Actor ActorOf(ClaimsPrincipal user) => new(
        user.FindFirst("oid")?.Value,
        user.FindFirst("preferred_username")?.Value ?? user.FindFirst("upn")?.Value,
        user.FindFirst("name")?.Value);

    public sealed record RunNowBody(Guid JobId, bool Force);
    public sealed record JobBody(Guid JobId);
    public sealed record RunBody(Guid RunId);

    public static void Map(WebApplication app)
    {
        app.MapGet("/health", async (Db db, SchedulerState state, SchedulerOptions options, TimeProvider clock, IConfiguration configuration, CancellationToken ct) =>
        {
            var dbOk = false;
            try
            {
                await using var connection = await db.OpenAsync(ct);
                dbOk = await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: ct)) == 1;
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
            {
                dbOk = false;
            }
            var enabled = SchedulerConfiguration.Enabled(configuration);
            var alive = enabled && state.IsAlive(clock.GetUtcNow(), options.PollInterval);
            return Results.Json(new
            {
                status = dbOk && (alive || !enabled) ? "ok" : "degraded",
                db = dbOk,
                scheduler = new { alive, enabled, last_tick_at = state.LastTickAt, worker_id = options.WorkerId },
            }, Json.Options, statusCode: dbOk ? 200 : 503);
        });

        var jobs = app.MapGroup("/jobs").RequireAuthorization(OperatorPolicy);

        jobs.MapGet("/status", async (IMediator mediator, SchedulerOptions options, IServiceProvider services, CancellationToken ct) =>
        {
            var result = await mediator.Send(new ListJobs.Query(), ct);
            var scheduler = services.GetService<Scheduler>();
            return Results.Json(new
            {
                worker_id = options.WorkerId,
                running_here = scheduler?.RunningRunIds ?? [],
                jobs = result.Jobs,
            }, Json.Options);
        });

        jobs.MapPost("/run-now", async (HttpRequest http, IMediator mediator, CancellationToken ct) =>
        {
            var body = await ReadAsync<RunNowBody>(http, ct);
            var result = await mediator.Send(new RunNow.Command(body.JobId, body.Force, ActorOf(http.HttpContext.User)), ct);
            return Results.Json(result, Json.Options, statusCode: result.AlreadyRunning ? 200 : 202);
        });

        jobs.MapPost("/pause", async (HttpRequest http, IMediator mediator, CancellationToken ct) =>
        {
            var body = await ReadAsync<JobBody>(http, ct);
            return Results.Json(await mediator.Send(new PauseJob.Command(body.JobId, ActorOf(http.HttpContext.User)), ct), Json.Options);
        });

        jobs.MapPost("/resume", async (HttpRequest http, IMediator mediator, CancellationToken ct) =>
        {
            var body = await ReadAsync<JobBody>(http, ct);
            return Results.Json(await mediator.Send(new ResumeJob.Command(body.JobId, ActorOf(http.HttpContext.User)), ct), Json.Options);
        });

        jobs.MapPost("/cancel", async (HttpRequest http, IMediator mediator, CancellationToken ct) =>
        {
            var body = await ReadAsync<RunBody>(http, ct);
            return Results.Json(await mediator.Send(new CancelRun.Command(body.RunId, ActorOf(http.HttpContext.User)), ct), Json.Options);
        });
    }

    /// <summary>snake_case JSON body; an empty or non-object body is a 400 (missing ids are then named by the slice's validator).</summary>
    private static async Task<T> ReadAsync<T>(HttpRequest http, CancellationToken ct)
    {
        if (http.ContentLength == 0)
            throw new BadHttpRequestException("the request body is empty; send a JSON object");
        return await JsonSerializer.DeserializeAsync<T>(http.Body, Json.Options, ct)
            ?? throw new BadHttpRequestException("the request body must be a JSON object");
    }
}
