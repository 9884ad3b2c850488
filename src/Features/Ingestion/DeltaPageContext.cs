namespace Sentinel.Features.Ingestion;

/// <summary>What a page handler knows about the round it is in.</summary>
internal sealed record DeltaPageContext(DateTimeOffset Now, DateTimeOffset RoundStart, bool Sweep)
{
    /// <summary>Set by the page / round-end handler when its merge changed rows (drives the deferred table_update_log touch).</summary>
    public bool Changed { get; set; }

    /// <summary>The round started in this call from its beginning (no earlier run's nextLink) and Graph never made it start over.</summary>
    public bool WholeRoundHere { get; init; }
}
