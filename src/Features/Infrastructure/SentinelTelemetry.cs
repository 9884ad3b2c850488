using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Sentinel.Features.Infrastructure;

/// <summary>
/// OpenTelemetry for both hosts: the product's meter and activity source (<see cref="SentinelMetrics"/>), ASP.NET Core
/// server and HttpClient instrumentation (W3C trace context flows web → worker API → Graph), Npgsql; Prometheus
/// scraping on <c>/metrics</c> only on the internal port SENTINEL_METRICS_PORT (never on the public one: a request
/// there whose local port is not the metrics port gets the app's normal answer, i.e. 404/401); OTLP export of traces
/// and metrics when OTEL_EXPORTER_OTLP_ENDPOINT is set. Every response carries <c>X-Request-Id</c> (the trace id).
/// <code>
/// builder.AddSentinelTelemetry("sentinel-web");   // before Build
/// app.UseSentinelTelemetry();                     // first in the pipeline
/// </code>
/// </summary>
public static class SentinelTelemetry
{
    public const string MetricsPortVariable = "SENTINEL_METRICS_PORT";
    public const string RequestIdHeader = "X-Request-Id";

    public static WebApplicationBuilder AddSentinelTelemetry(this WebApplicationBuilder builder, string serviceName)
    {
        var port = MetricsPort(builder.Configuration[MetricsPortVariable]);
        if (port is { } p)
        {
            // Listen on the metrics port as well as on the public URLs (an explicit Kestrel Listen would replace them).
            var urls = builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey);
            builder.WebHost.UseUrls($"{urls};http://0.0.0.0:{p}".TrimStart(';'));
        }
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddSingleton(new MetricsEndpoint(port));
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithMetrics(m =>
            {
                m.AddMeter(SentinelMetrics.Name, "Npgsql").AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (port is not null) m.AddPrometheusExporter();
                if (otlp) m.AddOtlpExporter();
            })
            .WithTracing(t =>
            {
                t.AddSource(SentinelMetrics.Name).AddAspNetCoreInstrumentation(o => o.Filter = c => c.Request.Path != "/metrics")
                    .AddHttpClientInstrumentation().AddNpgsql();
                if (otlp) t.AddOtlpExporter();
            });
        return builder;
    }

    /// <summary>Request id on every response; /metrics on the internal port only.</summary>
    public static WebApplication UseSentinelTelemetry(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            if (Activity.Current is { } activity)
                context.Response.Headers[RequestIdHeader] = activity.TraceId.ToString();
            return next(context);
        });
        if (app.Services.GetRequiredService<MetricsEndpoint>().Port is { } port)
            app.UseOpenTelemetryPrometheusScrapingEndpoint(c => c.Request.Path == "/metrics" && c.Connection.LocalPort == port);
        return app;
    }

    internal static int? MetricsPort(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new ConfigurationException($"{MetricsPortVariable} must be a TCP port between 1 and 65535, got '{value}'");
        return port;
    }

    private sealed record MetricsEndpoint(int? Port);
}
