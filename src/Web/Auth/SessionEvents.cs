using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Identity.Client;
using Microsoft.Identity.Web;
using Microsoft.IdentityModel.JsonWebTokens;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web.Auth;

/// <summary>
/// The session cookie's life: an absolute end (WEB_SESSION_HOURS from sign-in, sliding WEB_SESSION_IDLE_MINUTES inside
/// it) and a re-validation against Entra every WEB_SESSION_REVALIDATE_MINUTES. Re-validation redeems the user's refresh
/// token (silent token acquisition with ForceRefresh, so Entra itself is asked): an interaction-required answer (account
/// disabled, refresh token revoked, user signed out of Entra) ends the session; otherwise the app roles are replaced
/// by those of the new access token, so a removed role is gone within one interval. The clock is the injected
/// <see cref="TimeProvider"/> (tests use a fake one).
/// </summary>
public sealed class SessionEvents(WebSettings web, SentinelSettings settings, TimeProvider clock, ILogger<SessionEvents> logger) : CookieAuthenticationEvents
{
    public const string ValidatedItem = ".sentinel.validated_at";

    public override Task SigningIn(CookieSigningInContext context)
    {
        var now = clock.GetUtcNow();
        context.Properties.IsPersistent = false;
        context.Properties.Items.TryAdd(PgTicketStore.AbsoluteExpiryItem, now.AddHours(web.SessionHours).ToString("O", CultureInfo.InvariantCulture));
        context.Properties.Items[ValidatedItem] = now.ToString("O", CultureInfo.InvariantCulture);
        return Task.CompletedTask;
    }

    public override async Task ValidatePrincipal(CookieValidatePrincipalContext context)
    {
        var now = clock.GetUtcNow();
        if (PgTicketStore.AbsoluteExpiry(context.Properties) is not { } absolute || now >= absolute)
        {
            await EndAsync(context, "the session reached its absolute lifetime (WEB_SESSION_HOURS)");
            return;
        }
        if (context.Properties.Items.TryGetValue(ValidatedItem, out var v) && DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var validated)
            && now - validated < web.Revalidate)
            return;
        if (context.Principal is null || !EntraAuth.IsConfigured(settings))
        {
            await EndAsync(context, "sign-in is not configured");
            return;
        }

        var tokens = context.HttpContext.RequestServices.GetRequiredService<ITokenAcquisition>();
        AuthenticationResult result;
        try
        {
            result = await tokens.GetAuthenticationResultForUserAsync(EntraAuth.WorkerApiScopes(settings), OpenIdConnectDefaults.AuthenticationScheme,
                tenantId: null, userFlow: null, user: context.Principal, tokenAcquisitionOptions: new TokenAcquisitionOptions { ForceRefresh = true, CancellationToken = context.HttpContext.RequestAborted });
        }
        catch (Exception e) when (e is MicrosoftIdentityWebChallengeUserException or MsalUiRequiredException)
        {
            var code = (e as MsalUiRequiredException ?? (e as MicrosoftIdentityWebChallengeUserException)?.MsalUiRequiredException)?.ErrorCode;
            await EndAsync(context, $"Entra requires the user to sign in again ({code})");
            return;
        }
        catch (Exception e) when (e is MsalServiceException or MsalClientException or HttpRequestException or TaskCanceledException && !context.HttpContext.RequestAborted.IsCancellationRequested)
        {
            // Entra unreachable or failing: keep the session for now and try again on the next request.
            logger.LogWarning("session re-validation could not reach Entra ({Error}); retrying on the next request", e.GetType().Name);
            return;
        }

        var roles = new JsonWebToken(result.AccessToken).Claims.Where(c => c.Type == Roles.RoleClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        var identity = new ClaimsIdentity(context.Principal.Identity?.AuthenticationType ?? CookieAuthenticationDefaults.AuthenticationScheme, "name", Roles.RoleClaim);
        identity.AddClaims(context.Principal.Claims.Where(c => c.Type != Roles.RoleClaim).Select(c => new Claim(c.Type, c.Value, c.ValueType, c.Issuer)));
        identity.AddClaims(roles.Select(r => new Claim(Roles.RoleClaim, r)));
        var before = context.Principal.FindAll(Roles.RoleClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        if (!before.SetEquals(roles))
            logger.LogInformation("session re-validated: app roles of {Oid} changed to [{Roles}]", identity.FindFirst("oid")?.Value, string.Join(", ", roles));
        context.ReplacePrincipal(new ClaimsPrincipal(identity));
        context.Properties.Items[ValidatedItem] = now.ToString("O", CultureInfo.InvariantCulture);
        context.ShouldRenew = true;
    }

    private async Task EndAsync(CookieValidatePrincipalContext context, string why)
    {
        logger.LogInformation("session ended: {Why}", why);
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
    }

    public override Task RedirectToLogin(RedirectContext<CookieAuthenticationOptions> context)
    {
        if (WebModules.IsApi(context.Request)) context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        else context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }

    public override Task RedirectToAccessDenied(RedirectContext<CookieAuthenticationOptions> context)
    {
        // No redirect: the status-code page renders the friendly 403 in place.
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return Task.CompletedTask;
    }
}
