using MediatR;

namespace Sentinel.Features.Infrastructure;

/// <summary>
/// Marks a request whose handler executes work (ingest, scan, refresh, migrate). Only the worker registers
/// these handlers; the web host cannot resolve them (architecture test: ExecutorRuleTests).
/// </summary>
public interface IExecutorRequest<out TResponse> : IRequest<TResponse>;
