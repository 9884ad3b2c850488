using Sentinel.Web;

try
{
    var app = WebAppHost.Build(args);
    await app.RunAsync();
    return 0;
}
catch (Sentinel.Features.Infrastructure.ConfigurationException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
