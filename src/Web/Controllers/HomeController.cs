using Microsoft.AspNetCore.Mvc;

namespace Sentinel.Web.Controllers;

public sealed class HomeController : Controller
{
    public IActionResult Index() => View();
}
