using FluentValidation;

namespace Sentinel.Features.Inventory;

/// <summary>Rules every inventory list shares; a list's validator derives from it and adds its own filters.</summary>
internal abstract class InventoryListValidator<T> : AbstractValidator<T> where T : IInventoryListQuery
{
    protected InventoryListValidator(IReadOnlyDictionary<string, SortColumn> sorts, int cursorIdCount)
    {
        RuleFor(q => q.Search).MaximumLength(200).WithMessage("search must be at most 200 characters");
        // Item search matches one text per item that joins path and name with a newline (db/init 017, item_search_text).
        RuleFor(q => q.Search).Must(s => s is null || !s.Any(char.IsControl)).WithMessage("search must not contain control characters");
        RuleFor(q => q.Deleted).Must(DeletedFilter.Values.Contains).WithMessage($"deleted must be one of: {string.Join(", ", DeletedFilter.Values)}");
        RuleFor(q => q.Sort).Must(sorts.ContainsKey).WithMessage($"sort must be one of: {string.Join(", ", sorts.Keys)}");
        RuleFor(q => q.Limit).InclusiveBetween(1, InventoryQuery.MaxPageSize).Unless(q => q.Export)
            .WithMessage($"limit must be between 1 and {InventoryQuery.MaxPageSize}");
        RuleFor(q => q.Limit).InclusiveBetween(1, InventoryQuery.MaxExportRows).When(q => q.Export)
            .WithMessage($"limit must be between 1 and {InventoryQuery.MaxExportRows} for an export");
        RuleFor(q => q.Cursor).Must(c => InventoryQuery.IsValidCursor(c, cursorIdCount)).WithMessage("cursor is not a valid page cursor");
    }
}
