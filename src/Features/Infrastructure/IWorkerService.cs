namespace Sentinel.Features.Infrastructure;

/// <summary>
/// Marks a service contract only the worker registers (e.g. job executors): AddSentinelFeatures registers every
/// implementation of an interface that extends this one, for HostRole.Worker only, under that interface. It keeps
/// Infrastructure from naming the execution engine's types.
/// </summary>
public interface IWorkerService;
