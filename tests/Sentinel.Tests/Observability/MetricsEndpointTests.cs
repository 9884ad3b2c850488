using System.Net;
using System.Net.Sockets;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sentinel.Features.Execution;
using Sentinel.Features.Infrastructure;
using Sentinel.GraphSimulator;
using Sentinel.Tests.Ingestion;
using Sentinel.Worker;

namespace Sentinel.Tests.Observability;

/// <summary>The tenant behind the metrics test (the small profile: the demo profile did not finish within 4 minutes here, see the report).</summary>
public sealed class MetricsSimulatorFixture : SimulatorFixture;

/// <summary>
/// The real worker host on Kestrel (public port + SENTINEL_METRICS_PORT) against the simulator: a graph_ingest run
/// through the job runner, then a Prometheus scrape of the internal port; the public port never serves /metrics.
/// </summary>
public sealed class MetricsEndpointTests(MetricsSimulatorFixture f) : IClassFixture<MetricsSimulatorFixture>
{
    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Should_serve_the_ingest_metrics_on_the_internal_port_and_refuse_them_on_the_public_one()
    {
        var publicPort = FreePort();
        var metricsPort = FreePort();
        await using var app = WorkerHost.Build([], builder =>
        {
            builder.WebHost.UseUrls($"http://127.0.0.1:{publicPort}");
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["DATABASE_URL"] = f.ConnectionString,
                ["ENTRA_INSTANCE"] = f.Sim.EntraInstance,
                ["ENTRA_TENANT_ID"] = f.Sim.TenantId,
                ["ENTRA_CLIENT_ID"] = f.Sim.ClientId,
                ["ENTRA_CLIENT_SECRET"] = f.Sim.ClientSecret,
                ["GRAPH_BASE_URL"] = f.Sim.GraphBaseUrl,
                ["SENTINEL_CA_FILE"] = f.Sim.CaFile,
                ["SCHEDULER_ENABLED"] = "false",
                [SentinelTelemetry.MetricsPortVariable] = metricsPort.ToString(),
            });
        });
        await app.StartAsync();
        try
        {
            using (var scope = app.Services.CreateScope())
            {
                var config = $$"""{"graph_ru_per_minute": {{SimulatorFixture.TestRuPerMinute}}, "graph_ru_per_day": {{SimulatorFixture.TestRuPerDay}}}""";
                var run = await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new StartCliRun.Command("graph_ingest", config, "metrics-test"));
                var outcome = await scope.ServiceProvider.GetRequiredService<JobRunner>().RunAsync(run, default);
                Assert.Equal("success", outcome.Status);
            }
            using var http = new HttpClient();
            using var health = await http.GetAsync($"http://127.0.0.1:{publicPort}/health");
            Assert.True(health.Headers.Contains(SentinelTelemetry.RequestIdHeader));

            // Anonymous on the public port: not served (whatever Host header the caller claims).
            using var onPublic = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{publicPort}/metrics");
            onPublic.Headers.Host = $"127.0.0.1:{metricsPort}";
            using var refused = await http.SendAsync(onPublic);
            Assert.NotEqual(HttpStatusCode.OK, refused.StatusCode);
            Assert.DoesNotContain("sentinel_graph_requests", await refused.Content.ReadAsStringAsync());

            var scrape = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
            foreach (var metric in new[]
                     {
                         "sentinel_graph_requests_total{", "sentinel_graph_resource_units_total", "sentinel_runs_total{",
                         "sentinel_run_duration_seconds_bucket{", "sentinel_ingest_written_total{", "kind=\"items\"", "kind=\"permissions\"",
                         "job_type=\"graph_ingest\"", "status=\"success\"", "status=\"200\"", "http_server_request_duration_seconds",
                     })
                Assert.Contains(metric, scrape);
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
