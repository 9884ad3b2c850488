using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.IdentityModel.Tokens;

namespace Sentinel.Features.Inventory;

/// <summary>
/// Builds the WHERE/ORDER BY/LIMIT tail of an inventory slice's SQL: filters with named parameters and
/// keyset paging on (sort expression, id columns) — no OFFSET, so page 1000 costs what page 1 costs.
/// The slices own their SELECT and FROM; only whitelisted sort expressions reach the SQL text.
/// </summary>
public sealed class InventoryQuery
{
    public const int MaxPageSize = 200;
    public const int MaxExportRows = 100_000;

    private readonly List<string> _where = [];
    public DynamicParameters Parameters { get; } = new();

    public InventoryQuery Where(string condition, object? parameters = null)
    {
        _where.Add(condition);
        if (parameters is not null) Parameters.AddDynamicParams(parameters);
        return this;
    }

    public InventoryQuery Deleted(string filter, string column) => filter switch
    {
        DeletedFilter.Exclude => Where($"{column} IS NULL"),
        DeletedFilter.Only => Where($"{column} IS NOT NULL"),
        _ => this,
    };

    /// <summary>
    /// What an item search matches: its name or its path, as one text the trigram index serves (db/init 017) —
    /// "item_search_text(path, name) ILIKE s" selects exactly the rows of "name ILIKE s OR path ILIKE s".
    /// </summary>
    public const string ItemSearchText = "item_search_text(i.path, i.name)";

    /// <summary>Case-insensitive substring match over several columns (trigram indexes serve it).</summary>
    public InventoryQuery Search(string? text, params string[] columns)
    {
        if (string.IsNullOrWhiteSpace(text)) return this;
        Parameters.Add("Search", "%" + EscapeLike(text.Trim()) + "%");
        return Where("(" + string.Join(" OR ", columns.Select(c => $"{c} ILIKE @Search")) + ")");
    }

    /// <summary>The tail: WHERE (filters + keyset) ORDER BY … LIMIT pageSize+1 (the extra row tells whether a next page exists).</summary>
    public string Tail(SortColumn sort, bool descending, string[] idColumns, string? cursor, int limit)
    {
        var where = new List<string>(_where);
        var dir = descending ? "DESC" : "ASC";
        if (DecodeCursor(cursor, idColumns.Length) is { } values)
        {
            var op = descending ? "<" : ">";
            Parameters.Add("CursorSort", values[0]);
            var ids = new List<string>();
            for (var i = 0; i < idColumns.Length; i++)
            {
                Parameters.Add($"CursorId{i}", values[i + 1]);
                ids.Add($"@CursorId{i}");
            }
            // NULL sort values sort last ascending (first descending); coalesce keeps the row comparison total.
            where.Add($"({sort.Expression}, {string.Join(", ", idColumns)}) {op} (@CursorSort::{sort.SqlType}, {string.Join(", ", ids)})");
        }
        var sb = new StringBuilder();
        if (where.Count > 0) sb.Append(" WHERE ").Append(string.Join(" AND ", where));
        sb.Append($" ORDER BY {sort.Expression} {dir}, {string.Join(", ", idColumns.Select(c => $"{c} {dir}"))}");
        sb.Append(" LIMIT ").Append(limit + 1);
        return sb.ToString();
    }

    public static Page<T> ToPage<T>(List<T> rows, int limit, Func<T, object?[]> cursorOf)
    {
        if (rows.Count <= limit) return new Page<T>(rows, null);
        rows.RemoveAt(rows.Count - 1);
        return new Page<T>(rows, EncodeCursor(cursorOf(rows[^1])));
    }

    public static string EncodeCursor(object?[] values) =>
        Base64UrlEncoder.Encode(JsonSerializer.Serialize(values.Select(v => v switch
        {
            null => null,
            DateTimeOffset d => d.ToString("O"),
            DateTime d => d.ToString("O"),
            _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture),
        })));

    /// <summary>Null for no/garbled cursor; validators reject garbled cursors before this runs.</summary>
    public static string?[]? DecodeCursor(string? cursor, int idCount)
    {
        if (string.IsNullOrEmpty(cursor)) return null;
        try
        {
            var values = JsonSerializer.Deserialize<string?[]>(Base64UrlEncoder.Decode(cursor));
            return values is not null && values.Length == idCount + 1 && values.Skip(1).All(v => v is not null) ? values : null;
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    public static bool IsValidCursor(string? cursor, int idCount) => string.IsNullOrEmpty(cursor) || DecodeCursor(cursor, idCount) is not null;

    private static string EscapeLike(string s) => s.Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_");
}
