# Multi-stage build for the three .NET programs. Targets: web, worker, simulator.
#   docker build --target worker -t sentinel-worker .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore layer: only project files, so it stays cached until a dependency changes.
COPY global.json Directory.Build.props Directory.Packages.props Sentinel.sln ./
COPY src/Features/Features.csproj src/Features/
COPY src/Web/Web.csproj src/Web/
COPY src/Worker/Worker.csproj src/Worker/
COPY src/GraphSimulator/GraphSimulator.csproj src/GraphSimulator/
RUN dotnet restore src/Web/Web.csproj && dotnet restore src/Worker/Worker.csproj && dotnet restore src/GraphSimulator/GraphSimulator.csproj
COPY db/ db/
COPY src/ src/
RUN dotnet publish src/Web/Web.csproj -c Release --no-restore -o /out/web \
 && dotnet publish src/Worker/Worker.csproj -c Release --no-restore -o /out/worker \
 && dotnet publish src/GraphSimulator/GraphSimulator.csproj -c Release --no-restore -o /out/simulator

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 ASPNETCORE_ENVIRONMENT=Production
WORKDIR /app

FROM runtime AS web
COPY --from=build /out/web ./
USER app
ENV ASPNETCORE_URLS=http://0.0.0.0:3000
EXPOSE 3000
ENTRYPOINT ["dotnet", "Sentinel.Web.dll"]

FROM runtime AS worker
COPY --from=build /out/worker ./
USER app
ENV ASPNETCORE_URLS=http://0.0.0.0:8081
ENTRYPOINT ["dotnet", "Sentinel.Worker.dll"]
CMD ["serve"]

FROM runtime AS simulator
COPY --from=build /out/simulator ./
USER app
EXPOSE 5443
ENTRYPOINT ["dotnet", "Sentinel.GraphSimulator.dll"]
