using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.IdentityModel.Tokens;
using Sentinel.Web.Auth;

namespace Sentinel.Web.Controllers;

/// <summary>Sign-in (authorization code + PKCE), the OIDC callback, sign-out and the no-role page.</summary>
public sealed class AccountController(EntraSignIn entra, IDataProtectionProvider protection, WebSettings web, ILogger<AccountController> logger) : Controller
{
    private const string CorrelationCookie = ".Sentinel.Oidc";
    private readonly ITimeLimitedDataProtector _protector = protection.CreateProtector("Sentinel.Web.Oidc.v1").ToTimeLimitedDataProtector();

    private sealed record Correlation(string State, string Nonce, string Verifier, string ReturnUrl);

    [AllowAnonymous, HttpGet("/account/signin")]
    public async Task<IActionResult> SignIn(string? returnUrl, CancellationToken ct)
    {
        if (!entra.IsConfigured)
            return View("SignInError", "Sign-in is not configured: set ENTRA_TENANT_ID, ENTRA_CLIENT_ID and ENTRA_CLIENT_SECRET.");
        var correlation = new Correlation(Random(32), Random(32), Random(48), SafeReturnUrl(returnUrl));
        string url;
        try
        {
            url = await entra.AuthorizeUrlAsync(RedirectUri(), correlation.State, correlation.Nonce, correlation.Verifier, ct);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or HttpRequestException)
        {
            logger.LogWarning("sign-in metadata unavailable: {Error}", e.Message);
            return View("SignInError", "The identity provider (ENTRA_INSTANCE) could not be reached. Try again in a moment.");
        }
        Response.Cookies.Append(CorrelationCookie,
            _protector.Protect(JsonSerializer.Serialize(correlation), TimeSpan.FromMinutes(10)),
            new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Lax, Secure = Request.IsHttps, Path = "/signin-oidc", MaxAge = TimeSpan.FromMinutes(10), IsEssential = true });
        return Redirect(url);
    }

    [AllowAnonymous, HttpGet("/signin-oidc")]
    public async Task<IActionResult> Callback(string? code, string? state, string? error, [FromQuery(Name = "error_description")] string? errorDescription, CancellationToken ct)
    {
        var correlation = ReadCorrelation();
        Response.Cookies.Delete(CorrelationCookie, new CookieOptions { Path = "/signin-oidc", Secure = Request.IsHttps, SameSite = SameSiteMode.Lax });
        if (correlation is null)
            return SignInError("This sign-in attempt expired or was started in another browser. Please sign in again.");
        if (state is null || !CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(state), System.Text.Encoding.UTF8.GetBytes(correlation.State)))
            return SignInError("The sign-in response did not match this sign-in attempt (state). Please sign in again.");
        if (error is not null)
            return SignInError($"The identity provider refused the sign-in: {error}.");
        if (string.IsNullOrEmpty(code))
            return SignInError("The sign-in response carried no authorization code.");
        try
        {
            var result = await entra.RedeemAsync(code, correlation.Verifier, RedirectUri(), ct);
            var idClaims = await entra.ValidateIdTokenAsync(result.IdToken, correlation.Nonce, ct);
            var identity = new ClaimsIdentity(CookieAuthenticationDefaults.AuthenticationScheme, "name", Roles.RoleClaim);
            foreach (var type in new[] { "oid", "tid", "name", "preferred_username" })
                if (idClaims.FindFirst(type) is { } c) identity.AddClaim(new Claim(type, c.Value));
            foreach (var role in idClaims.FindAll(Roles.RoleClaim)) identity.AddClaim(new Claim(Roles.RoleClaim, role.Value));
            identity.AddClaim(new Claim(EntraSignIn.HomeAccountClaim, result.Account.HomeAccountId.Identifier));
            await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity),
                new AuthenticationProperties { IsPersistent = false });
            logger.LogInformation("signed in {Upn}", identity.FindFirst("preferred_username")?.Value);
            return LocalRedirect(correlation.ReturnUrl);
        }
        catch (SignInFailedException e)
        {
            return SignInError("Sign-in failed: " + e.Message + ".");
        }
        catch (Microsoft.Identity.Client.MsalException e)
        {
            logger.LogWarning("code redemption failed: {Code}", e.ErrorCode);
            return SignInError($"The identity provider did not accept the sign-in ({e.ErrorCode}). Please sign in again.");
        }
    }

    [HttpPost("/account/signout"), Authorize(Policy = Roles.SignedIn), ValidateAntiForgeryToken]
    public async Task<IActionResult> SignOutUser(CancellationToken ct)
    {
        await entra.ForgetAsync(User);
        await HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        var afterLogout = BaseUrl() + "/account/signed-out";
        try
        {
            if (entra.IsConfigured && await entra.EndSessionUrlAsync(afterLogout, ct) is { } url) return Redirect(url);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or HttpRequestException)
        {
            logger.LogWarning("logout endpoint unavailable: {Error}", e.Message);
        }
        return Redirect("/account/signed-out");
    }

    [AllowAnonymous, HttpGet("/account/signed-out")]
    public IActionResult SignedOut() => View();

    private IActionResult SignInError(string message)
    {
        Response.StatusCode = StatusCodes.Status400BadRequest;
        return View("SignInError", message);
    }

    private Correlation? ReadCorrelation()
    {
        if (!Request.Cookies.TryGetValue(CorrelationCookie, out var raw) || string.IsNullOrEmpty(raw)) return null;
        try
        {
            return JsonSerializer.Deserialize<Correlation>(_protector.Unprotect(raw));
        }
        catch (Exception e) when (e is CryptographicException or JsonException)
        {
            return null;
        }
    }

    private string BaseUrl() => web.PublicUrl ?? $"{Request.Scheme}://{Request.Host}{Request.PathBase}";

    private string RedirectUri() => BaseUrl() + "/signin-oidc";

    private string SafeReturnUrl(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && Url.IsLocalUrl(returnUrl) && !returnUrl.StartsWith("/account/", StringComparison.OrdinalIgnoreCase) ? returnUrl : "/";

    private static string Random(int bytes) => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(bytes));
}
