using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Sentinel.Worker;

namespace Sentinel.Web.Tests;

/// <summary>Browser tests run only where Debian's Chromium is installed (CI installs it); elsewhere they skip saying so.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(ChromiumPath)) Skip = $"Chromium not found at {ChromiumPath}: install it with 'apt-get install -y chromium' to run the browser tests";
    }
}

/// <summary>
/// The whole product for the browser: simulator (identity + Graph), worker (control plane + scheduler + executors)
/// and web, over one PostgreSQL database, plus a headless Chromium.
/// </summary>
public sealed class BrowserFixture : WebFixture
{
    private WebApplication? _worker;
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;
    public string WorkerUrl { get; private set; } = "";
    public Guid IngestJobId { get; } = Guid.NewGuid();
    public Guid RefreshJobId { get; } = Guid.NewGuid();

    /// <summary>Where screenshots go: SENTINEL_SCREENSHOTS_DIR, else TestResults/screenshots beside the binaries.</summary>
    public string ScreenshotDir { get; } = Environment.GetEnvironmentVariable("SENTINEL_SCREENSHOTS_DIR") is { Length: > 0 } d
        ? d : Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    protected override string SimProfile => "demo";

    protected override IDictionary<string, string?> ExtraConfig() => new Dictionary<string, string?> { ["WORKER_API_URL"] = WorkerUrl };

    public override async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumFactAttribute.ChromiumPath)) return;
        Directory.CreateDirectory(ScreenshotDir);
        // The worker needs the database and the simulator, and the web needs the worker's URL: start in that order.
        await StartDatabaseAndSimulatorAsync();
        _worker = WorkerHost.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            var config = HostConfig();
            config["SCHEDULER_POLL_SECONDS"] = "1";
            builder.Configuration.AddInMemoryCollection(config);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        await _worker.StartAsync();
        WorkerUrl = _worker.Urls.First().TrimEnd('/');
        await StartWebAsync();
        await ExecuteAsync("""
            INSERT INTO jobs (job_id, job_type, name, config, enabled) VALUES
              (@IngestJobId, 'graph_ingest', 'Ingest tenant', '{"graph_ru_per_minute": 60000, "graph_ru_per_day": 86400000}', true),
              (@RefreshJobId, 'refresh_mv', 'Refresh dashboard views', '{}', true)
            """, new { IngestJobId, RefreshJobId });

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.ChromiumPath,
            Headless = true,
            // The browser visits the simulator's sign-in page directly: trust exactly that server key (SPKI pin),
            // instead of switching certificate checks off.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                    "--ignore-certificate-errors-spki-list=" + SimulatorSpki()],
        });
    }

    private string SimulatorSpki()
    {
        using var cert = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(
            Path.Combine(Sim.Options.CertDir, "server.pfx"), null);
        return Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(cert.PublicKey.ExportSubjectPublicKeyInfo()));
    }

    public override async Task DisposeAsync()
    {
        if (_playwright is null && _worker is null) { await base.DisposeAsync(); return; }
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
        await base.DisposeAsync();
        if (_worker is not null) await _worker.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
