using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Sentinel.GraphSimulator;
using Sentinel.TestSupport;

namespace Sentinel.Web.Tests;

/// <summary>A web host whose clock the test moves (sessions, re-validation), over its own simulator and database.</summary>
public sealed class SessionWebFixture : WebFixture
{
    public ManualTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);
    private readonly string _dpDir = Directory.CreateTempSubdirectory("sentinel-dp-").FullName;

    /// <summary>This host also encrypts its Data Protection keys at rest (WEB_DATA_PROTECTION_CERT/KEY, PEM files).</summary>
    protected override IDictionary<string, string?> ExtraConfig()
    {
        var cert = Path.Combine(_dpDir, "cert.pem");
        var key = Path.Combine(_dpDir, "key.pem");
        if (!File.Exists(cert))
        {
            using var rsa = System.Security.Cryptography.RSA.Create(2048);
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=Sentinel test data protection", rsa,
                System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
            File.WriteAllText(cert, created.ExportCertificatePem());
            File.WriteAllText(key, rsa.ExportPkcs8PrivateKeyPem());
        }
        return new Dictionary<string, string?>
        {
            ["WEB_SESSION_REVALIDATE_MINUTES"] = "5",
            ["WEB_SESSION_HOURS"] = "2",
            ["WEB_SESSION_IDLE_MINUTES"] = "60",
            ["WEB_DATA_PROTECTION_CERT"] = cert,
            ["WEB_DATA_PROTECTION_KEY"] = key,
        };
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_dpDir, true);
    }

    protected override void ConfigureBuilder(WebApplicationBuilder builder) => builder.Services.AddSingleton<TimeProvider>(Clock);
}

/// <summary>
/// Sessions end when access ends (issue 12 item 7): the session is re-validated against Entra every
/// WEB_SESSION_REVALIDATE_MINUTES (a manual clock moves time; the simulator changes the directory as an admin would),
/// an account disable ends it, a removed app role is gone at the next re-validation, and WEB_SESSION_HOURS is absolute.
/// Also: the nonce check Identity.Web's code redemption skips.
/// </summary>
public sealed class SessionTests(SessionWebFixture fx) : IClassFixture<SessionWebFixture>
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_removed_app_role_is_gone_at_the_next_revalidation_and_not_before()
    {
        using var user = await SignedInClient.SignInAsync(fx.BaseUrl, fx.Sim, WebFixture.Reader);
        Assert.Equal(HttpStatusCode.OK, (await user.Http.GetAsync("/")).StatusCode);

        await fx.Sim.SetUserAccessAsync(WebFixture.Reader, accountEnabled: null, new SimulatorInstance.AppRoleChange(null));
        fx.Clock.Advance(Interval - TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, (await user.Http.GetAsync("/")).StatusCode); // inside the interval: the cookie's roles still hold

        fx.Clock.Advance(TimeSpan.FromSeconds(31));
        using var after = await user.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.Forbidden, after.StatusCode);
        Assert.Contains("you have no Princeton Sentinel role", await after.Content.ReadAsStringAsync());

        // Given back, it returns at the next re-validation as well.
        await fx.Sim.SetUserAccessAsync(WebFixture.Reader, null, new SimulatorInstance.AppRoleChange("Sentinel.Reader"));
        fx.Clock.Advance(Interval);
        Assert.Equal(HttpStatusCode.OK, (await user.Http.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task A_disabled_account_loses_its_session_within_the_revalidation_interval()
    {
        using var user = await SignedInClient.SignInAsync(fx.BaseUrl, fx.Sim, WebFixture.Operator);
        Assert.Equal(HttpStatusCode.OK, (await user.Http.GetAsync("/admin")).StatusCode);
        var sessions = await fx.ScalarAsync<long>("SELECT count(*) FROM web_sessions");

        await fx.Sim.SetUserAccessAsync(WebFixture.Operator, accountEnabled: false, null);
        try
        {
            fx.Clock.Advance(Interval + TimeSpan.FromSeconds(1));
            using var after = await user.Http.GetAsync("/admin");
            Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
            Assert.Contains("/account/signin", after.Headers.Location!.ToString());
            Assert.Equal(sessions - 1, await fx.ScalarAsync<long>("SELECT count(*) FROM web_sessions"));
        }
        finally
        {
            await fx.Sim.SetUserAccessAsync(WebFixture.Operator, accountEnabled: true, null);
        }
    }

    [Fact]
    public async Task The_session_ends_at_its_absolute_lifetime_even_when_used_all_along()
    {
        using var user = await SignedInClient.SignInAsync(fx.BaseUrl, fx.Sim, WebFixture.Admin);
        for (var i = 0; i < 5; i++)
        {
            fx.Clock.Advance(TimeSpan.FromMinutes(23)); // inside the 60-minute idle window each time
            Assert.Equal(HttpStatusCode.OK, (await user.Http.GetAsync("/")).StatusCode);
        }
        fx.Clock.Advance(TimeSpan.FromMinutes(6)); // 2 h 1 min after sign-in
        using var after = await user.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.Contains("/account/signin", after.Headers.Location!.ToString());
    }

    [Fact]
    public async Task With_a_certificate_configured_the_data_protection_keys_are_encrypted_at_rest_and_sessions_work()
    {
        using var user = await SignedInClient.SignInAsync(fx.BaseUrl, fx.Sim, WebFixture.Reader);
        Assert.Equal(HttpStatusCode.OK, (await user.Http.GetAsync("/")).StatusCode);
        var keys = await fx.ScalarAsync<string[]>("SELECT array_agg(xml) FROM web_data_protection_keys");
        Assert.NotEmpty(keys);
        Assert.All(keys, xml =>
        {
            Assert.Contains("EncryptedData", xml);
            Assert.DoesNotContain("<value>", xml); // an unencrypted key ring element carries the key in <masterKey><value>
        });
    }

    [Fact]
    public async Task An_authorization_code_minted_for_another_nonce_is_refused_and_creates_no_session()
    {
        // The victim's browser starts a sign-in: state and nonce bound to its cookies.
        using var victim = fx.Anonymous();
        using var start = await victim.GetAsync("/account/signin");
        var authorize = start.Headers.Location!;
        var state = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(authorize.Query)["state"].ToString();

        // The attacker obtains a code from its own authorize request (its nonce, no PKCE) for the same redirect URI...
        var handler = Sentinel.Features.Infrastructure.TrustedHttp.CreateHandler(fx.Sim.CaFile);
        handler.AllowAutoRedirect = false;
        using var attacker = new HttpClient(handler);
        var own = $"{fx.Sim.BaseUrl}/{fx.Sim.TenantId}/oauth2/v2.0/authorize?client_id={fx.Sim.ClientId}&response_type=code&response_mode=query" +
                  $"&redirect_uri={Uri.EscapeDataString(fx.BaseUrl + "/signin-oidc")}&scope=openid%20profile%20offline_access&nonce=attacker-nonce&state=x";
        var picker = await attacker.GetStringAsync(own);
        var fields = Regex.Matches(picker, "<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")
            .ToDictionary(m => WebUtility.HtmlDecode(m.Groups[1].Value), m => WebUtility.HtmlDecode(m.Groups[2].Value));
        fields["login_hint"] = WebFixture.NoRole;
        using var picked = await attacker.PostAsync(new Uri(new Uri(own).GetLeftPart(UriPartial.Path)), new FormUrlEncodedContent(fields));
        var code = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(picked.Headers.Location!.Query)["code"].ToString();
        Assert.NotEmpty(code);

        // ...and injects it into the victim's callback with the victim's state. The code redeems, but the ID token's nonce
        // is not the one this browser was given.
        using var callback = await victim.GetAsync($"/signin-oidc?code={Uri.EscapeDataString(code)}&state={Uri.EscapeDataString(state)}");
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/account/signin-failed?reason=nonce", callback.Headers.Location!.ToString());
        using var home = await victim.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, home.StatusCode);
        Assert.Contains("/account/signin", home.Headers.Location!.ToString());
    }
}
