using System.Security.Claims;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web.Auth;

public static class UserExtensions
{
    /// <summary>
    /// Who is acting, for the audit: the signed-in user, or an app calling /api with its own app-only token, recorded as
    /// itself (oid = its service principal, upn = app:{client id}, name = its display name when the token carries it).
    /// </summary>
    public static Actor ToActor(this ClaimsPrincipal user)
    {
        if (!EntraAuth.IsAppOnly(user))
            return new(user.FindFirst("oid")?.Value, user.FindFirst("preferred_username")?.Value, user.FindFirst("name")?.Value);
        var client = user.FindFirst("azp")?.Value ?? user.FindFirst("appid")?.Value;
        return new(user.FindFirst("oid")?.Value, $"app:{client}", user.FindFirst("app_displayname")?.Value ?? $"app {client}");
    }

    public static string DisplayName(this ClaimsPrincipal user) =>
        user.FindFirst("name")?.Value ?? user.FindFirst("preferred_username")?.Value ?? "signed-in user";

    public static string RoleLabel(this ClaimsPrincipal user) =>
        user.IsAdmin() ? "Admin" : user.IsOperator() ? "Operator" : user.IsReader() ? "Reader" : "No role";
}
