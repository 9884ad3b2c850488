namespace Sentinel.Features.Inventory;

/// <summary>
/// How soft-deleted rows are shown: all (with a badge), live only, or deleted only. The values are the query string's
/// (<c>deleted=all|exclude|only</c>): a list query carries what the caller typed and its validator rejects anything else.
/// </summary>
public static class DeletedFilter
{
    public const string All = "all";
    public const string Exclude = "exclude";
    public const string Only = "only";

    public static readonly IReadOnlyList<string> Values = [All, Exclude, Only];
}
