namespace Sentinel.Features.Inventory;

/// <summary>A sortable column: its SQL expression and the PostgreSQL type the cursor value is cast to.</summary>
public sealed record SortColumn(string Expression, string SqlType);
