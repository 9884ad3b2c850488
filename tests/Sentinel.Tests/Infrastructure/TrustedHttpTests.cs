using System.Security.Authentication;
using Sentinel.Features.Infrastructure;
using Sentinel.GraphSimulator;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Infrastructure;

/// <summary>
/// SENTINEL_CA_FILE is trusted only for the hosts of ENTRA_INSTANCE and GRAPH_BASE_URL: the simulator's certificate
/// (valid for 127.0.0.1 and localhost, issued by its CA) is accepted under the configured name and refused under the
/// other one, although the TLS name check alone would pass there.
/// </summary>
public sealed class TrustedHttpTests : IAsyncLifetime
{
    private SimulatorInstance _sim = null!;

    public async Task InitializeAsync() =>
        _sim = await SimulatorInstance.StartAsync(new SimulatorOptions { Profile = "tiny", CertDir = Path.Combine(Path.GetTempPath(), "sentinel-trustedhttp-tests") });

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    private SentinelSettings Settings(string host) => new()
    {
        ConnectionString = "Host=unused",
        EntraInstance = $"https://{host}:{new Uri(_sim.BaseUrl).Port}/",
        GraphBaseUrl = $"https://{host}:{new Uri(_sim.BaseUrl).Port}/v1.0",
        CaFile = _sim.CaFile,
    };

    private string Url(string host) => $"https://{host}:{new Uri(_sim.BaseUrl).Port}/_sim/info";

    [Fact]
    public async Task The_extra_ca_is_trusted_for_the_entra_and_graph_hosts_only()
    {
        Assert.Equal(["127.0.0.1"], TrustedHttp.CaScopeHosts(Settings("127.0.0.1")));
        using var scoped = TrustedHttp.CreateClient(Settings("127.0.0.1"));
        using var ok = await scoped.GetAsync(Url("127.0.0.1"));
        Assert.True(ok.IsSuccessStatusCode);

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => scoped.GetAsync(Url("localhost")));
        Assert.IsType<AuthenticationException>(refused.InnerException);

        // The same name is fine when it is the configured one: the refusal above was the scope, not the certificate.
        using var other = TrustedHttp.CreateClient(Settings("localhost"));
        using var ok2 = await other.GetAsync(Url("localhost"));
        Assert.True(ok2.IsSuccessStatusCode);
    }

    [Fact]
    public async Task Without_the_ca_the_simulator_certificate_is_refused_everywhere()
    {
        using var plain = new HttpClient(TrustedHttp.CreateHandler(caFile: null));
        await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetAsync(Url("127.0.0.1")));
    }
}
