using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Sentinel.Features.Infrastructure;
using Sentinel.Web.Auth;

namespace Sentinel.Web.Controllers;

/// <summary>
/// Sign-in and sign-out entry points. The protocol itself (authorize redirect with state, nonce and PKCE, the
/// /signin-oidc callback, code redemption, ID token validation, the end-session redirect) is Microsoft.Identity.Web's
/// OIDC handler (<see cref="WebAuth"/>); this controller only starts it and renders its outcomes.
/// </summary>
public sealed class AccountController(SentinelSettings settings) : Controller
{
    [AllowAnonymous, HttpGet("/account/signin")]
    public IActionResult SignIn(string? returnUrl)
    {
        if (!EntraAuth.IsConfigured(settings))
            return View("SignInError", "Sign-in is not configured: set ENTRA_TENANT_ID, ENTRA_CLIENT_ID and ENTRA_CLIENT_SECRET.");
        return Challenge(new AuthenticationProperties { RedirectUri = SafeReturnUrl(returnUrl) }, OpenIdConnectDefaults.AuthenticationScheme);
    }

    /// <summary>Where the OIDC handler sends a failed callback (OnRemoteFailure): a 400 page with a safe explanation.</summary>
    [AllowAnonymous, HttpGet("/account/signin-failed")]
    public IActionResult SignInFailed(string? reason)
    {
        Response.StatusCode = StatusCodes.Status400BadRequest;
        return View("SignInError", reason switch
        {
            "state" => "The sign-in response did not match this sign-in attempt (state). Please sign in again.",
            "expired" => "This sign-in attempt expired or was started in another browser. Please sign in again.",
            "nonce" => "The sign-in response did not match this sign-in attempt (nonce). Please sign in again.",
            "redeem" => "The identity provider did not accept the sign-in. Please sign in again.",
            "refused" => "The identity provider refused the sign-in.",
            _ => "Sign-in failed. Please sign in again.",
        });
    }

    /// <summary>
    /// Ends the session here (the server-side session row is deleted, so a copied cookie stops working, and the user's
    /// tokens leave the cache), then signs out of Entra through its end_session_endpoint.
    /// </summary>
    [HttpPost("/account/signout"), Authorize(Policy = Roles.SignedIn), ValidateAntiForgeryToken]
    public IActionResult SignOutUser()
    {
        var properties = new AuthenticationProperties { RedirectUri = "/account/signed-out" };
        return EntraAuth.IsConfigured(settings)
            ? SignOut(properties, CookieAuthenticationDefaults.AuthenticationScheme, OpenIdConnectDefaults.AuthenticationScheme)
            : SignOut(properties, CookieAuthenticationDefaults.AuthenticationScheme);
    }

    [AllowAnonymous, HttpGet("/account/signed-out")]
    public IActionResult SignedOut() => View();

    private string SafeReturnUrl(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && Url.IsLocalUrl(returnUrl) && !returnUrl.StartsWith("/account/", StringComparison.OrdinalIgnoreCase) ? returnUrl : "/";
}
