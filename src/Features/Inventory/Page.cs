namespace Sentinel.Features.Inventory;

/// <summary>One page of rows and the keyset cursor of the next page (null on the last page).</summary>
public sealed record Page<T>(IReadOnlyList<T> Rows, string? NextCursor);
