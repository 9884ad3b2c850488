namespace Sentinel.GraphSimulator;

/// <summary>Every knob of the simulator. CLI flags and SIM_* / ENTRA_* environment variables map onto these (see Program.cs).</summary>
public sealed class SimulatorOptions
{
    public string Profile { get; set; } = "small";
    public int Seed { get; set; } = 42;
    /// <summary>0 = ephemeral port.</summary>
    public int Port { get; set; }
    public string Host { get; set; } = "127.0.0.1";
    /// <summary>Base URL clients use when it differs from https://{host}:{port} (compose: https://simulator:5443). Links and issuers use it.</summary>
    public string? PublicUrl { get; set; }
    /// <summary>Where ca.pem, ca.key.pem, server.pfx and signing-key.pem live; created on first start.</summary>
    public string CertDir { get; set; } = Path.Combine(Path.GetTempPath(), "sentinel-sim-certs");
    /// <summary>Where to publish ca.pem alone (no key) for clients to mount; null = clients read it from <see cref="CertDir"/>.</summary>
    public string? CaExportDir { get; set; }
    public string TenantId { get; set; } = "8f2a4c1e-5b6d-4e7f-9a0b-1c2d3e4f5a6b";
    public string ClientId { get; set; } = "3c9e1d2f-7a8b-4c5d-8e9f-0a1b2c3d4e5f";
    public string ClientSecret { get; set; } = "sim-secret";
    public string TenantDomain { get; set; } = "contoso.onmicrosoft.com";
    /// <summary>Drive-item delta page size (real Graph ≈ 200).</summary>
    public int PageSize { get; set; } = 200;
    /// <summary>Directory (users/groups) delta page size.</summary>
    public int DirectoryPageSize { get; set; } = 100;
    /// <summary>members@delta entries per group per page; larger groups repeat on later pages with the next slice.</summary>
    public int MembersPerPage { get; set; } = 500;
    /// <summary>
    /// Entries per page of GET /drives/{d}/items/{i}/permissions; longer lists continue with an
    /// @odata.nextLink. A guess (docs/simulator.md): Graph documents nextLink paging for every collection, and users report
    /// permission lists cut at about 100 entries (microsoft-graph-docs#15531).
    /// </summary>
    public int PermissionsPageSize { get; set; } = 100;
    /// <summary>getAllSites page size (small so the oneDrive.getAllSites nextLink is exercised).</summary>
    public int SitesPageSize { get; set; } = 10;
    /// <summary>Random mutations applied every <see cref="MutateIntervalSeconds"/>; 0 = off.</summary>
    public int MutatePerTick { get; set; }
    public double MutateIntervalSeconds { get; set; } = 60;
    /// <summary>Realistic quirks: empty pages with a nextLink, duplicates within a round, @removed in first syncs.</summary>
    public bool Quirks { get; set; } = true;
    /// <summary>Initial faults (same shape as POST /_sim/faults). Null = none.</summary>
    public FaultConfig? Faults { get; set; }
    /// <summary>Sizes overriding the profile (null = profile default).</summary>
    public int? Users { get; set; }
    public int? Groups { get; set; }
    public int? Sites { get; set; }
    public int? Items { get; set; }
    /// <summary>
    /// The app manifest's api.requestedAccessTokenVersion: 1 (Entra's default when the manifest leaves it null) or 2.
    /// Decides the version of access tokens issued for api://{client id} scopes.
    /// </summary>
    public int RequestedAccessTokenVersion { get; set; } = 1;
    /// <summary>
    /// Other app registrations of the tenant that call the Sentinel API with their own client credentials (app-only tokens
    /// carrying the app roles assigned to them). Defaults: <see cref="ClientApp.Defaults"/>.
    /// </summary>
    public IReadOnlyList<ClientApp> ClientApps { get; set; } = ClientApp.Defaults;
    /// <summary>Log each request to the console.</summary>
    public bool Verbose { get; set; }
}
