using System.Security.Claims;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Tests.Infrastructure;

/// <summary>
/// EntraAuth.CheckApiToken after Identity.Web validated signature, issuer, audience and lifetime: who may call which API.
/// The hosts' HTTP tests (ControlPlaneTests, Web.Tests BearerApiTests) drive the same rules with real tokens.
/// </summary>
public sealed class ApiTokenRulesTests
{
    private const string Sentinel = "3c9e1d2f-7a8b-4c5d-8e9f-0a1b2c3d4e5f";
    private const string Siem = "5a1e0c7d-1b2c-4d3e-8f40-5162738495a1";

    private static ClaimsPrincipal Token(params (string Type, string Value)[] claims) =>
        new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), "Bearer"));

    [Fact]
    public void An_app_only_token_is_recognised_by_idtyp_or_else_by_oid_equal_to_sub()
    {
        Assert.True(EntraAuth.IsAppOnly(Token(("azp", Siem), ("idtyp", "app"), ("oid", "sp"), ("sub", "sp"))));
        Assert.True(EntraAuth.IsAppOnly(Token(("appid", Siem), ("oid", "sp"), ("sub", "sp"))));            // idtyp not requested by the API
        Assert.False(EntraAuth.IsAppOnly(Token(("appid", Siem), ("oid", "user"), ("sub", "pairwise"))));
        Assert.False(EntraAuth.IsAppOnly(Token(("azp", Siem), ("idtyp", "user"), ("oid", "sp"), ("sub", "sp"))));
        Assert.False(EntraAuth.IsAppOnly(Token(("azp", Sentinel), ("scp", "access_as_user"), ("oid", "u"), ("sub", "u"))));
        Assert.False(EntraAuth.IsAppOnly(Token(("oid", "u"), ("sub", "u"), ("roles", "Sentinel.Admin"))));   // an ID token / a cookie session: no client
    }

    [Fact]
    public void The_web_api_takes_any_app_with_a_sentinel_role_and_the_control_plane_takes_none()
    {
        var reader = Token(("azp", Siem), ("idtyp", "app"), ("oid", "sp"), ("sub", "sp"), ("roles", "Sentinel.Reader"));
        Assert.Null(EntraAuth.CheckApiToken(reader, Sentinel, EntraAuth.ApiCallers.DelegatedAndApps));
        Assert.Contains("not accepted here", EntraAuth.CheckApiToken(reader, Sentinel, EntraAuth.ApiCallers.DelegatedOnly));

        var graphRoleOnly = Token(("azp", Siem), ("idtyp", "app"), ("oid", "sp"), ("sub", "sp"), ("roles", "User.Read.All"));
        Assert.Contains("carries none of the app roles", EntraAuth.CheckApiToken(graphRoleOnly, Sentinel, EntraAuth.ApiCallers.DelegatedAndApps));
        var noRole = Token(("azp", Sentinel), ("idtyp", "app"), ("oid", "sp"), ("sub", "sp"));
        Assert.Contains("carries none of the app roles", EntraAuth.CheckApiToken(noRole, Sentinel, EntraAuth.ApiCallers.DelegatedAndApps));
    }

    [Fact]
    public void Delegated_tokens_still_need_this_client_and_the_scope()
    {
        var user = Token(("azp", Sentinel), ("scp", "access_as_user"), ("oid", "u"), ("sub", "s"), ("roles", "Sentinel.Reader"));
        Assert.Null(EntraAuth.CheckApiToken(user, Sentinel, EntraAuth.ApiCallers.DelegatedOnly));
        Assert.Null(EntraAuth.CheckApiToken(user, Sentinel, EntraAuth.ApiCallers.DelegatedAndApps));
        var otherClient = Token(("azp", Siem), ("scp", "access_as_user"), ("oid", "u"), ("sub", "s"), ("roles", "Sentinel.Reader"));
        Assert.Contains("another client", EntraAuth.CheckApiToken(otherClient, Sentinel, EntraAuth.ApiCallers.DelegatedAndApps));
        var otherScope = Token(("azp", Sentinel), ("scp", "User.Read"), ("oid", "u"), ("sub", "s"), ("roles", "Sentinel.Reader"));
        Assert.Contains("lacks the delegated scope", EntraAuth.CheckApiToken(otherScope, Sentinel, EntraAuth.ApiCallers.DelegatedAndApps));
        Assert.Contains("not an access token", EntraAuth.CheckApiToken(Token(("oid", "u"), ("roles", "Sentinel.Admin")), Sentinel, EntraAuth.ApiCallers.DelegatedAndApps));
    }
}
