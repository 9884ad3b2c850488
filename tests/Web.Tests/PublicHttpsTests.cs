using System.Net;
using Microsoft.Extensions.Configuration;
using Sentinel.Features.Infrastructure;
using Sentinel.Web.Auth;

namespace Sentinel.Web.Tests;

/// <summary>
/// WEB_PUBLIC_URL=https://…: every cookie is Secure (even on the plain-HTTP hop behind the proxy) and HSTS is sent on
/// HTTPS requests; forwarded headers are honoured only from WEB_TRUSTED_PROXIES (loopback always) and the old
/// "trust any proxy" switch is refused with a message.
/// </summary>
[Collection(WebCollection.Name)]
public sealed class PublicHttpsTests(WebFixture fx)
{
    [Fact]
    public async Task With_an_https_public_url_cookies_are_secure_and_hsts_is_sent()
    {
        await using var web = fx.BuildWeb(new Dictionary<string, string?> { ["WEB_PUBLIC_URL"] = "https://sentinel.example" });
        await web.StartAsync();
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(web.Urls.First()) };

        using var start = await http.GetAsync("/account/signin");
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        Assert.Contains("redirect_uri=https://sentinel.example/signin-oidc", Uri.UnescapeDataString(start.Headers.Location!.ToString()));
        var cookies = start.Headers.GetValues("Set-Cookie").ToList();
        Assert.NotEmpty(cookies);
        Assert.All(cookies, c => Assert.Contains("secure", c, StringComparison.OrdinalIgnoreCase));
        Assert.False(start.Headers.Contains("Strict-Transport-Security")); // plain HTTP request: no HSTS

        var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        request.Headers.Host = "sentinel.example";
        request.Headers.Add("X-Forwarded-Proto", "https"); // from loopback: a trusted proxy
        using var viaProxy = await http.SendAsync(request);
        Assert.StartsWith("max-age=31536000", viaProxy.Headers.GetValues("Strict-Transport-Security").Single());
        await web.StopAsync();
    }

    [Fact]
    public void Forwarded_header_trust_is_a_list_of_proxies_and_the_old_switch_is_refused()
    {
        static WebSettings Parse(params (string K, string V)[] values) =>
            WebSettings.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.K, v => (string?)v.V)).Build());

        var settings = Parse(("WEB_TRUSTED_PROXIES", "10.1.2.3, 172.16.0.0/12"));
        Assert.Equal([IPAddress.Parse("10.1.2.3")], settings.TrustedProxies);
        Assert.Equal("172.16.0.0/12", Assert.Single(settings.TrustedNetworks).ToString());

        Assert.Contains("WEB_TRUSTED_PROXIES", Assert.Throws<ConfigurationException>(() => Parse(("WEB_TRUST_FORWARDED_HEADERS", "true"))).Message);
        Assert.Contains("'10.0.0.0/99'", Assert.Throws<ConfigurationException>(() => Parse(("WEB_TRUSTED_PROXIES", "10.0.0.0/99"))).Message);
        Assert.Contains("'proxy.local'", Assert.Throws<ConfigurationException>(() => Parse(("WEB_TRUSTED_PROXIES", "proxy.local"))).Message);
        Assert.Contains("between 1 and 15", Assert.Throws<ConfigurationException>(() => Parse(("WEB_SESSION_REVALIDATE_MINUTES", "30"))).Message);
    }
}
