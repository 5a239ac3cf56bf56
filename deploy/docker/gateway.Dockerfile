# syntax=docker/dockerfile:1
# Pigeon.Gateway: the stateless HTTP API, an Orleans client of the silos.
# Build from the repository root:  docker build -f deploy/docker/gateway.Dockerfile -t pigeon-gateway .

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files and lock files only (see silo.Dockerfile).
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props .editorconfig ./
COPY Pigeon.Protocol/Pigeon.Protocol.csproj Pigeon.Protocol/packages.lock.json Pigeon.Protocol/
COPY Pigeon.Api/Pigeon.Api.csproj Pigeon.Api/packages.lock.json Pigeon.Api/
COPY Pigeon.Grains.Abstractions/Pigeon.Grains.Abstractions.csproj Pigeon.Grains.Abstractions/packages.lock.json Pigeon.Grains.Abstractions/
COPY Pigeon.Hosting/Pigeon.Hosting.csproj Pigeon.Hosting/packages.lock.json Pigeon.Hosting/
COPY Pigeon.Gateway/Pigeon.Gateway.csproj Pigeon.Gateway/packages.lock.json Pigeon.Gateway/
RUN dotnet restore Pigeon.Gateway/Pigeon.Gateway.csproj --locked-mode
COPY Pigeon.Protocol/ Pigeon.Protocol/
COPY Pigeon.Api/ Pigeon.Api/
COPY Pigeon.Grains.Abstractions/ Pigeon.Grains.Abstractions/
COPY Pigeon.Hosting/ Pigeon.Hosting/
COPY Pigeon.Gateway/ Pigeon.Gateway/
RUN dotnet publish Pigeon.Gateway/Pigeon.Gateway.csproj -c Release --no-restore -o /app /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
ENV DOTNET_ENVIRONMENT=Production \
    ASPNETCORE_ENVIRONMENT=Production \
    Urls=http://+:8080
# 8080: the HTTP API, /health/live, /health/ready and /metrics.
EXPOSE 8080
# The image's unprivileged `app` user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1654
ENTRYPOINT ["dotnet", "Pigeon.Gateway.dll"]
