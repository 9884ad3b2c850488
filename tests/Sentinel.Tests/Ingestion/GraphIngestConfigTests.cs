using System.Text.Json.Nodes;
using Sentinel.Features.Infrastructure;
using Sentinel.Features.Ingestion;
using Sentinel.Features.Jobs;

namespace Sentinel.Tests.Ingestion;

public sealed class GraphIngestConfigTests
{
    [Fact]
    public void An_empty_config_means_every_phase_with_the_documented_defaults()
    {
        var options = GraphIngestConfig.Parse(new JsonObject());
        Assert.Equal(GraphIngestConfig.AllPhases, options.Phases);
        Assert.Equal(8, options.DriveConcurrency);
        Assert.Equal(400, options.PermissionBatchSize);
        Assert.Equal(8, options.PermissionConcurrency);
        Assert.Equal(24, options.PermissionRescanAfterHours);
        Assert.Equal(3600, options.TimeBudgetSeconds);
        Assert.Equal(1.0, options.PermissionVerifyPercentPerDay);
        Assert.True(options.IncludeOneDrive);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("100.5")]
    [InlineData("\"1%\"")]
    public void The_verification_share_is_a_percentage(string value)
    {
        var config = (JsonObject)JsonNode.Parse($$"""{"permission_verify_per_day": {{value}}}""")!;
        var problem = Assert.Single(JobConfigRules.Problems(JobTypes.GraphIngest, config.ToJsonString()));
        Assert.Equal("config.permission_verify_per_day", problem.Field);
        Assert.Contains("between 0 and 100", problem.Message);
        Assert.Equal(0.5, GraphIngestConfig.Parse((JsonObject)JsonNode.Parse("""{"permission_verify_per_day": 0.5}""")!).PermissionVerifyPercentPerDay);
    }

    [Fact]
    public void Every_bad_field_is_reported_by_name()
    {
        var config = (JsonObject)JsonNode.Parse("""
            {"phases": ["users", "mine"], "drive_concurrency": 0, "permission_batch_size": "big", "time_budget_seconds": 1.5,
             "include_sites": ["not a url"], "include_onedrive": "yes", "colour": "blue"}
            """)!;
        var fields = JobConfigRules.Problems(JobTypes.GraphIngest, config.ToJsonString()).Select(p => p.Field).ToHashSet();
        Assert.Equal(new HashSet<string> { "config.phases", "config.drive_concurrency", "config.permission_batch_size", "config.time_budget_seconds",
            "config.include_sites", "config.include_onedrive", "config.colour" }, fields);
        var error = Assert.Throws<RequestValidationException>(() => GraphIngestConfig.Parse(config));
        Assert.Contains("config.drive_concurrency", error.Errors.Keys);
    }

    [Fact]
    public void Scope_filters_select_sites_by_url_prefix()
    {
        var options = GraphIngestConfig.Parse((JsonObject)JsonNode.Parse("""
            {"phases": ["sites", "drives"], "include_sites": ["https://contoso.sharepoint.com/sites/"], "exclude_sites": ["https://contoso.sharepoint.com/sites/legal"]}
            """)!);
        Assert.Equal(["sites", "drives"], options.Phases);
        Assert.True(options.SiteInScope("https://contoso.sharepoint.com/sites/Finance"));
        Assert.False(options.SiteInScope("https://contoso.sharepoint.com/sites/Legal"));
        Assert.False(options.SiteInScope("https://contoso.sharepoint.com"));
    }

    [Fact]
    public void Budget_keys_out_of_range_are_refused_naming_the_field_and_defaults_follow_the_licence_tier()
    {
        var bad = (JsonObject)JsonNode.Parse("""{"graph_ru_per_minute": 0, "graph_ru_per_day": -5, "tenant_licences": "many"}""")!;
        var problems = JobConfigRules.Problems(JobTypes.GraphIngest, bad.ToJsonString()).ToDictionary(p => p.Field, p => p.Message);
        Assert.Equal("graph_ru_per_minute must be > 0 (a whole number)", problems["config.graph_ru_per_minute"]);
        Assert.Equal("graph_ru_per_day must be > 0 (a whole number)", problems["config.graph_ru_per_day"]);
        Assert.Equal("tenant_licences must be > 0 (a whole number)", problems["config.tenant_licences"]);
        var dayBelowMinute = (JsonObject)JsonNode.Parse("""{"graph_ru_per_minute": 100, "graph_ru_per_day": 50}""")!;
        Assert.Equal("config.graph_ru_per_day", Assert.Single(JobConfigRules.Problems(JobTypes.GraphIngest, dayBelowMinute.ToJsonString())).Field);

        var smallest = GraphIngestConfig.Parse(new JsonObject());
        Assert.Equal((1_250, 1_200_000), (smallest.RuPerMinute, smallest.RuPerDay));
        var largest = GraphIngestConfig.Parse((JsonObject)JsonNode.Parse("""{"tenant_licences": 60000}""")!);
        Assert.Equal((6_250, 6_000_000), (largest.RuPerMinute, largest.RuPerDay));
        var overridden = GraphIngestConfig.Parse((JsonObject)JsonNode.Parse("""{"tenant_licences": 3000, "graph_ru_per_minute": 900}""")!);
        Assert.Equal((900, 2_400_000), (overridden.RuPerMinute, overridden.RuPerDay));
    }
}
