using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.Mvc.ViewFeatures;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web.Controllers;

/// <summary>Pages (not /api, which the JSON error middleware handles): bad input → 400 page naming the fields; unknown id → 404 page.</summary>
public sealed class PageErrorsFilter(IModelMetadataProvider metadata) : IExceptionFilter
{
    public void OnException(ExceptionContext context)
    {
        if (WebModules.IsApi(context.HttpContext.Request)) return;
        switch (context.Exception)
        {
            case RequestValidationException v:
                context.Result = new ViewResult
                {
                    ViewName = "~/Views/Error/BadRequest.cshtml",
                    StatusCode = 400,
                    ViewData = new ViewDataDictionary(metadata, context.ModelState) { Model = v.Errors },
                };
                context.ExceptionHandled = true;
                break;
            case NotFoundException:
                context.Result = new StatusCodeResult(404);
                context.ExceptionHandled = true;
                break;
        }
    }
}
