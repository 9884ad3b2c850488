using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.ViewFeatures;
using Sentinel.Web.Auth;

namespace Sentinel.Web.Controllers;

/// <summary>
/// The global antiforgery rule (ASP.NET Core's AutoValidateAntiforgeryToken: every unsafe method needs the token), except for
/// /api requests authenticated by a bearer token (<see cref="WebAuth.AuthenticatesByBearer(HttpContext)"/>): the cookie is
/// not used for them, so there is nothing a cross-site request could forge. [IgnoreAntiforgeryToken] and an explicit
/// [ValidateAntiForgeryToken] keep working (the nearest antiforgery policy wins).
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class AntiforgeryUnlessBearerAttribute : Attribute, IFilterFactory, IOrderedFilter
{
    /// <summary>Same order as ASP.NET Core's antiforgery attributes: after authentication, before model binding.</summary>
    public int Order { get; set; } = 1000;

    public bool IsReusable => true;

    public IFilterMetadata CreateInstance(IServiceProvider serviceProvider) => new Filter(serviceProvider.GetRequiredService<IAntiforgery>());

    private sealed class Filter(IAntiforgery antiforgery) : IAsyncAuthorizationFilter, IAntiforgeryPolicy
    {
        public async Task OnAuthorizationAsync(AuthorizationFilterContext context)
        {
            if (!context.IsEffectivePolicy<IAntiforgeryPolicy>(this)) return;
            var method = context.HttpContext.Request.Method;
            if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method)) return;
            if (WebAuth.AuthenticatesByBearer(context.HttpContext)) return;
            try
            {
                await antiforgery.ValidateRequestAsync(context.HttpContext);
            }
            catch (AntiforgeryValidationException)
            {
                context.Result = new AntiforgeryValidationFailedResult();
            }
        }
    }
}
