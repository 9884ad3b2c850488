namespace Sentinel.Features.Infrastructure;

/// <summary>
/// Marks a request that carries nothing a caller could get wrong: no fields, or only values every instance of which is
/// valid (a flag, the run context an executor passes along). It stands where a validator would; the architecture tests
/// require one or the other, never both.
/// </summary>
public interface INoInput;
