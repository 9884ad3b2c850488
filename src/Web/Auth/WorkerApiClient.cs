using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Identity.Client;
using Microsoft.Identity.Web;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web.Auth;

/// <summary>
/// Calls the worker's control plane (WORKER_API_URL) as the signed-in user: a delegated token for
/// api://{client_id}/access_as_user from Identity.Web's token acquisition (silent, from the PostgreSQL token cache,
/// refreshed when needed). Tokens never reach the browser.
/// </summary>
public sealed class WorkerApiClient(SentinelSettings settings, IServiceProvider services, IHttpClientFactory http)
{
    public const string HttpClientName = "sentinel-worker-api";
    public const string AppCallerRefused = "the worker's control plane acts only on behalf of a signed-in user: an app-only token cannot run, pause, resume or cancel jobs";

    public sealed record Reply(int Status, JsonElement? Body, string? Error)
    {
        public bool Ok => Status is >= 200 and < 300;
    }

    public Task<Reply> GetAsync(ClaimsPrincipal user, string path, CancellationToken ct) => SendAsync(user, HttpMethod.Get, path, null, ct);

    public Task<Reply> PostAsync(ClaimsPrincipal user, string path, object body, CancellationToken ct) => SendAsync(user, HttpMethod.Post, path, body, ct);

    private async Task<string> TokenAsync(ClaimsPrincipal user, CancellationToken ct)
    {
        if (!EntraAuth.IsConfigured(settings)) throw new SessionExpiredException();
        try
        {
            return await services.GetRequiredService<ITokenAcquisition>().GetAccessTokenForUserAsync(EntraAuth.WorkerApiScopes(settings),
                OpenIdConnectDefaults.AuthenticationScheme, tenantId: null, userFlow: null, user: user, tokenAcquisitionOptions: new TokenAcquisitionOptions { CancellationToken = ct });
        }
        catch (Exception e) when (e is MicrosoftIdentityWebChallengeUserException or MsalUiRequiredException)
        {
            throw new SessionExpiredException();
        }
    }

    private async Task<Reply> SendAsync(ClaimsPrincipal user, HttpMethod method, string path, object? body, CancellationToken ct)
    {
        // The control plane is delegated-only: there is no user to get its token for.
        if (EntraAuth.IsAppOnly(user)) return new Reply(403, null, AppCallerRefused);
        var token = await TokenAsync(user, ct);
        using var request = new HttpRequestMessage(method, settings.WorkerApiUrl.TrimEnd('/') + path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = JsonContent.Create(body, options: Json.Options);
        try
        {
            using var response = await http.CreateClient(HttpClientName).SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            JsonElement? json = null;
            string? error = null;
            try
            {
                if (text.Length > 0) json = JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
                // Not JSON: report the status only.
            }
            if (!response.IsSuccessStatusCode)
                error = json is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String
                    ? e.GetString()
                    : $"the worker API answered HTTP {(int)response.StatusCode}";
            return new Reply((int)response.StatusCode, json, error);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return new Reply(503, null, "the worker API (WORKER_API_URL) could not be reached");
        }
    }
}
