using System.Security.Claims;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web.Auth;

public static class UserExtensions
{
    public static Actor ToActor(this ClaimsPrincipal user) =>
        new(user.FindFirst("oid")?.Value, user.FindFirst("preferred_username")?.Value, user.FindFirst("name")?.Value);

    public static string DisplayName(this ClaimsPrincipal user) =>
        user.FindFirst("name")?.Value ?? user.FindFirst("preferred_username")?.Value ?? "signed-in user";

    public static string RoleLabel(this ClaimsPrincipal user) =>
        user.IsAdmin() ? "Admin" : user.IsOperator() ? "Operator" : user.IsReader() ? "Reader" : "No role";
}
