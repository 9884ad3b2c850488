using Sentinel.Worker;

return await WorkerCli.RunAsync(args);
