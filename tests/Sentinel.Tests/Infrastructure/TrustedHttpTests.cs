using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Sentinel.Features.Infrastructure;
using Sentinel.GraphSimulator;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Infrastructure;

/// <summary>
/// SENTINEL_CA_FILE is trusted only for the hosts of ENTRA_INSTANCE and GRAPH_BASE_URL, through the TLS chain policy
/// (custom root trust), never a validation callback: the simulator's certificate (valid for 127.0.0.1 and localhost,
/// issued by its CA) is accepted under the configured name and refused under the other one, although the TLS name check
/// alone would pass there; a certificate of another CA and a name the certificate does not cover are refused too.
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

    private string Url(string host, SimulatorInstance? sim = null) => $"https://{host}:{new Uri((sim ?? _sim).BaseUrl).Port}/_sim/info";

    private static async Task AssertRefusedAsync(HttpClient client, HttpRequestMessage request)
    {
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(request));
        Assert.IsType<AuthenticationException>(refused.InnerException);
    }

    [Fact]
    public async Task The_extra_ca_is_trusted_for_the_entra_and_graph_hosts_only()
    {
        Assert.Equal(["127.0.0.1"], TrustedHttp.CaScopeHosts(Settings("127.0.0.1")));
        using var scoped = TrustedHttp.CreateClient(Settings("127.0.0.1"));
        using var ok = await scoped.GetAsync(Url("127.0.0.1"));
        Assert.True(ok.IsSuccessStatusCode);

        await AssertRefusedAsync(scoped, new HttpRequestMessage(HttpMethod.Get, Url("localhost")));

        // The same name is fine when it is the configured one: the refusal above was the scope, not the certificate.
        using var other = TrustedHttp.CreateClient(Settings("localhost"));
        using var ok2 = await other.GetAsync(Url("localhost"));
        Assert.True(ok2.IsSuccessStatusCode);

        // A Host header naming an out-of-scope host (TLS validates against it) does not borrow the scope of the URL's host.
        var borrowed = new HttpRequestMessage(HttpMethod.Get, Url("127.0.0.1"));
        borrowed.Headers.Host = "localhost";
        await AssertRefusedAsync(scoped, borrowed);
    }

    [Fact]
    public async Task Without_the_ca_the_simulator_certificate_is_refused_everywhere()
    {
        using var plain = new HttpClient(TrustedHttp.CreateHandler(caFile: null));
        await AssertRefusedAsync(plain, new HttpRequestMessage(HttpMethod.Get, Url("127.0.0.1")));
        using var unset = TrustedHttp.CreateClient(Settings("127.0.0.1") with { CaFile = null });
        await AssertRefusedAsync(unset, new HttpRequestMessage(HttpMethod.Get, Url("127.0.0.1")));
    }

    [Fact]
    public async Task A_certificate_from_another_ca_for_the_same_host_is_refused()
    {
        var otherDir = Path.Combine(Path.GetTempPath(), "sentinel-trustedhttp-other-ca-" + Guid.NewGuid().ToString("N")[..8]);
        await using var impostor = await SimulatorInstance.StartAsync(new SimulatorOptions { Profile = "tiny", CertDir = otherDir });
        try
        {
            Assert.NotEqual(File.ReadAllText(_sim.CaFile), File.ReadAllText(impostor.CaFile));
            // Guard: the impostor is up and its certificate is fine under its own CA, so the refusals below are about trust.
            using var own = TrustedHttp.CreateClient(impostor.CaFile);
            using var reachable = await own.GetAsync(Url("127.0.0.1", impostor));
            Assert.True(reachable.IsSuccessStatusCode);

            using var scoped = TrustedHttp.CreateClient(Settings("127.0.0.1"));
            await AssertRefusedAsync(scoped, new HttpRequestMessage(HttpMethod.Get, Url("127.0.0.1", impostor)));
            using var everywhere = TrustedHttp.CreateClient(_sim.CaFile);
            await AssertRefusedAsync(everywhere, new HttpRequestMessage(HttpMethod.Get, Url("127.0.0.1", impostor)));
        }
        finally
        {
            Directory.Delete(otherDir, recursive: true);
        }
    }

    [Fact]
    public async Task A_name_the_certificate_does_not_cover_is_refused_although_the_ca_is_trusted()
    {
        using var everywhere = TrustedHttp.CreateClient(_sim.CaFile);
        using var ok = await everywhere.GetAsync(Url("127.0.0.1"));
        Assert.True(ok.IsSuccessStatusCode);

        // Same server, same certificate; TLS is asked to verify a name the certificate does not carry.
        var mismatch = new HttpRequestMessage(HttpMethod.Get, Url("127.0.0.1"));
        mismatch.Headers.Host = "not-in-the-certificate.example";
        await AssertRefusedAsync(everywhere, mismatch);

        var scopedSettings = Settings("127.0.0.1");
        using var scoped = new HttpClient(TrustedHttp.CreateHandler(scopedSettings.CaFile, ["127.0.0.1", "not-in-the-certificate.example"]));
        var scopedMismatch = new HttpRequestMessage(HttpMethod.Get, Url("127.0.0.1"));
        scopedMismatch.Headers.Host = "not-in-the-certificate.example";
        await AssertRefusedAsync(scoped, scopedMismatch);
    }

    [Fact]
    public async Task The_trust_is_a_custom_root_chain_policy_and_follows_no_redirect_off_its_hosts()
    {
        using var handler = TrustedHttp.CreateHandler(_sim.CaFile);
        Assert.Equal(X509ChainTrustMode.CustomRootTrust, handler.SslOptions.CertificateChainPolicy!.TrustMode);
        Assert.Equal(X509RevocationMode.NoCheck, handler.SslOptions.CertificateChainPolicy.RevocationMode);

        // The simulator's logout redirects anywhere it is told to: the CA-trusting side hands the 302 back instead of following it.
        using var scoped = TrustedHttp.CreateClient(Settings("127.0.0.1"));
        using var redirect = await scoped.GetAsync($"{_sim.BaseUrl}/{_sim.TenantId}/oauth2/v2.0/logout?post_logout_redirect_uri={Uri.EscapeDataString(Url("localhost"))}");
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal(Url("localhost"), redirect.Headers.Location!.ToString());
    }
}
