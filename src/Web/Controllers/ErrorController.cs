using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace Sentinel.Web.Controllers;

/// <summary>Status-code pages (re-executed in place, so the status stays): 403 explains roles, 404 says so.</summary>
[AllowAnonymous, IgnoreAntiforgeryToken, ApiExplorerSettings(IgnoreApi = true)]
public sealed class ErrorController : Controller
{
    [Route("/error/{code:int}")]
    public IActionResult Status(int code)
    {
        var original = HttpContext.Features.Get<Microsoft.AspNetCore.Diagnostics.IStatusCodeReExecuteFeature>();
        if (original?.OriginalPath.StartsWith("/api", StringComparison.Ordinal) == true)
            return new EmptyResult();
        Response.StatusCode = code;
        return View(code == 403 ? "Forbidden" : "Status", code);
    }
}
