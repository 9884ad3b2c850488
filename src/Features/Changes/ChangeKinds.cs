namespace Sentinel.Features.Changes;

/// <summary>The vocabulary of the posture change feed (posture_changes.kind), with the words the pages use.</summary>
public static class ChangeKinds
{
    public sealed record Kind(string Key, string Label, bool Worsens);

    public static readonly IReadOnlyList<Kind> All =
    [
        new("link_created", "Link created", true), new("link_removed", "Link removed", false), new("link_changed", "Link changed", true),
        new("grant_added", "Access granted", true), new("grant_removed", "Access removed", false), new("grant_changed", "Grant changed", true),
        new("reach_gained", "Became reachable", true), new("reach_lost", "No longer reachable", false), new("reach_changed", "Reach changed", true),
        new("guest_added", "Guest added", true), new("guest_removed", "Guest removed", false),
        new("member_added", "Member joined a group with access", true), new("member_removed", "Member left a group with access", false),
        new("inheritance_broken", "Inheritance broken", true), new("inheritance_restored", "Inheritance restored", false),
    ];

    public static readonly IReadOnlyList<string> Scopes = ["anonymous", "anyone", "organization", "users", "existingAccess", "direct", "external", "internal"];

    public static Kind Of(string key) => All.FirstOrDefault(k => k.Key == key) ?? new Kind(key, key, true);
}
