using System.Net;

namespace Sentinel.Web.Tests;

[Collection(WebCollection.Name)]
public sealed class SignInTests(WebFixture fx)
{
    [Fact]
    public async Task Admin_signs_in_through_the_simulator_and_sees_the_dashboard()
    {
        var admin = await fx.SignInAsync(WebFixture.Admin);
        var html = await admin.Http.GetStringAsync("/");
        Assert.Contains("Data posture", html);
        Assert.Contains("Cached (DB) — last refreshed at", html);
        Assert.Contains("Admin", html);
    }
}
