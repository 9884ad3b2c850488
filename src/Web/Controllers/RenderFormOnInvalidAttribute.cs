using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web.Controllers;

/// <summary>
/// Bad input on a form post (a slice's validator threw <see cref="RequestValidationException"/>): the form's view is
/// rendered again with status 400, the posted values kept and each error next to its field — instead of a try/catch
/// in every action (ContosoUniversity's validator filter does the same for Razor Pages). The action's argument named
/// <c>form</c> is the posted form; the controller (<see cref="IFormPage"/>) wraps it in the view's model.
/// Other failures go on to <see cref="PageErrorsFilter"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RenderFormOnInvalidAttribute(string view) : Attribute, IAsyncActionFilter
{
    public async Task OnActionExecutionAsync(ActionExecutingContext context, ActionExecutionDelegate next)
    {
        var executed = await next();
        if (executed is not { Exception: RequestValidationException invalid, ExceptionHandled: false }) return;
        if (executed.Controller is not (Controller controller and IFormPage page) || !context.ActionArguments.TryGetValue("form", out var form) || form is null)
            return;

        foreach (var (field, messages) in invalid.Errors)
            foreach (var message in messages)
                controller.ModelState.AddModelError(field, message);
        var result = controller.View(view, await page.FormModelAsync(view, form, context.HttpContext.RequestAborted));
        result.StatusCode = StatusCodes.Status400BadRequest;
        executed.Result = result;
        executed.ExceptionHandled = true;
    }
}
