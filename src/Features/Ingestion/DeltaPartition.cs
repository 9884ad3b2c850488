namespace Sentinel.Features.Ingestion;

/// <param name="DeferredLogTables">When set, page transactions defer the table_update_log trigger (touch_table_update_log in 001_schema.sql) and
/// these tables are touched right after a commit that changed rows, so concurrent partitions do not serialise on the log row.</param>
internal sealed record DeltaPartition(string ResourceType, string PartitionKey, string InitialUrl, IReadOnlyDictionary<string, string>? Headers = null,
    string[]? DeferredLogTables = null);
