using System.Security.Claims;

namespace Sentinel.Web.Auth;

/// <summary>Entra app roles (SPEC §7) and the authorization policies built from them.</summary>
public static class Roles
{
    public const string Reader = "Sentinel.Reader";
    public const string Operator = "Sentinel.Operator";
    public const string Admin = "Sentinel.Admin";

    /// <summary>Policy names: each role includes the ones below it.</summary>
    public const string CanRead = "CanRead";
    public const string CanOperate = "CanOperate";
    public const string CanAdminister = "CanAdminister";
    /// <summary>Signed in, with or without a role (the 403 page, sign-out).</summary>
    public const string SignedIn = "SignedIn";

    public const string RoleClaim = "roles";

    public static bool IsReader(this ClaimsPrincipal user) => user.HasClaim(RoleClaim, Reader) || user.IsOperator();
    public static bool IsOperator(this ClaimsPrincipal user) => user.HasClaim(RoleClaim, Operator) || user.IsAdmin();
    public static bool IsAdmin(this ClaimsPrincipal user) => user.HasClaim(RoleClaim, Admin);
}
