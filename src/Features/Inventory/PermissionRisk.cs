namespace Sentinel.Features.Inventory;

/// <summary>
/// The risk order of a permission, riskiest first, as stored in <c>msgraph_drive_item_permissions.risk_rank</c>
/// (db/init/014_posture.sql): who can use it (anyone, the organisation, external people, internal people) and
/// whether it lets them edit. The rank is computed in SQL; this names it for the pages and the API.
/// </summary>
public static class PermissionRisk
{
    public sealed record Level(short Rank, string Key, string Label, string Explanation);

    public static readonly IReadOnlyList<Level> Levels =
    [
        new(0, "anyone_edit", "Anyone can edit", "An anyone link with edit rights: whoever has the URL can change or delete the content, without signing in."),
        new(1, "anyone", "Anyone", "An anyone link: whoever has the URL can open it without signing in, and the link can be forwarded."),
        new(2, "organization_edit", "Organisation can edit", "Everyone in the organisation can edit: an organisation link with edit rights or an edit grant to an org-wide claim (\"Everyone except external users\")."),
        new(3, "organization", "Organisation", "Everyone in the organisation can open it: an organisation link or a grant to an org-wide claim (\"Everyone except external users\", \"Everyone\")."),
        new(4, "external", "External people", "Granted to people outside the tenant: guests, or invitations sent to external e-mail addresses."),
        new(5, "internal", "Internal", "Granted to specific people or groups inside the tenant."),
    ];

    public static Level Of(short rank) => rank >= 0 && rank < Levels.Count ? Levels[rank] : Levels[^1];
}
