namespace Sentinel.Web.Controllers;

/// <summary>A controller whose forms <see cref="RenderFormOnInvalidAttribute"/> re-renders: it builds a view's model around a posted form.</summary>
public interface IFormPage
{
    Task<object> FormModelAsync(string view, object form, CancellationToken ct);
}
