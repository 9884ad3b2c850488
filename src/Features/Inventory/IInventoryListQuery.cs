namespace Sentinel.Features.Inventory;

/// <summary>The search, deleted-rows, sort and paging inputs every inventory list takes.</summary>
public interface IInventoryListQuery
{
    string? Search { get; }
    string Deleted { get; }
    string Sort { get; }
    string? Cursor { get; }
    int Limit { get; }
    /// <summary>A CSV export reads the list in pages larger than a screen's.</summary>
    bool Export { get; }
}
