using FluentValidation;
using Sentinel.Features.Jobs;

namespace Sentinel.Features.Views;

/// <summary>The refresh_mv config: only <c>force</c> (true refreshes every view, not just the impacted ones).</summary>
internal sealed class RefreshMvConfigValidator : JobConfigValidator
{
    public override string JobType => JobTypes.RefreshMv;

    public RefreshMvConfigValidator()
    {
        OnlyKeys(["force"]);
        Key("force").Must(n => n is null || IsBool(n)).WithMessage("force must be true or false");
    }
}
