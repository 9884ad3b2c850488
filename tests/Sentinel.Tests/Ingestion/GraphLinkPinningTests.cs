using Microsoft.Extensions.DependencyInjection;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Tests.Ingestion;

/// <summary>Issue 11 item 7: a nextLink/deltaLink gets the token only on the configured Graph origin (scheme, host and port).</summary>
public sealed class GraphLinkPinningTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public void Links_to_another_scheme_host_or_port_are_refused_before_any_token_is_sent()
    {
        var graph = fixture.Services.GetRequiredService<GraphHttp>();
        var b = graph.BaseUrl;
        Assert.Equal(b + "users/delta?$skiptoken=x", graph.Resolve($"{b}users/delta?$skiptoken=x").ToString());
        Assert.Equal("/drives/d/root/delta?token=t", graph.ToBatchUrl($"{b}drives/d/root/delta?token=t"));
        var otherScheme = new UriBuilder(b) { Scheme = b.Scheme == "https" ? "http" : "https", Port = b.Port }.Uri;
        foreach (var link in new[]
                 {
                     $"{otherScheme}users/delta?$skiptoken=x",
                     $"{new UriBuilder(b) { Port = b.Port + 1 }.Uri}users/delta?$skiptoken=x",
                     $"{new UriBuilder(b) { Host = "graph.evil.example" }.Uri}users/delta?$skiptoken=x",
                 })
            Assert.Equal("graph_bad_link", Assert.Throws<JobFailedException>(() => graph.Resolve(link)).Code);
        Assert.Equal("graph_bad_link", Assert.Throws<JobFailedException>(() => graph.ToBatchUrl($"{new UriBuilder(b) { Path = "/beta/" }.Uri}drives")).Code);
    }
}
