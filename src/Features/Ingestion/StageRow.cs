namespace Sentinel.Features.Ingestion;

/// <summary>One Graph object of a page, flattened only as far as the COPY needs; SQL extracts the typed columns from raw.</summary>
internal readonly record struct StageRow(string Id, bool Removed, string Raw, string? A = null, string? B = null);
