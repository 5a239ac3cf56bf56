# syntax=docker/dockerfile:1
# Pigeon.Silo: an Orleans silo; `migrate` as the argument applies the schema migrations and exits.
# Build from the repository root:  docker build -f deploy/docker/silo.Dockerfile -t pigeon-silo .

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files and lock files only, so the layer is reused until a
# dependency changes. --locked-mode refuses anything the lock files do not pin.
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props .editorconfig ./
COPY Pigeon.Protocol/Pigeon.Protocol.csproj Pigeon.Protocol/packages.lock.json Pigeon.Protocol/
COPY Pigeon.Api/Pigeon.Api.csproj Pigeon.Api/packages.lock.json Pigeon.Api/
COPY Pigeon.Grains.Abstractions/Pigeon.Grains.Abstractions.csproj Pigeon.Grains.Abstractions/packages.lock.json Pigeon.Grains.Abstractions/
COPY Pigeon.Hosting/Pigeon.Hosting.csproj Pigeon.Hosting/packages.lock.json Pigeon.Hosting/
COPY Pigeon.Grains/Pigeon.Grains.csproj Pigeon.Grains/packages.lock.json Pigeon.Grains/
COPY Pigeon.Gateway/Pigeon.Gateway.csproj Pigeon.Gateway/packages.lock.json Pigeon.Gateway/
COPY Pigeon.Silo/Pigeon.Silo.csproj Pigeon.Silo/packages.lock.json Pigeon.Silo/
RUN dotnet restore Pigeon.Silo/Pigeon.Silo.csproj --locked-mode
COPY sql/ sql/
COPY Pigeon.Protocol/ Pigeon.Protocol/
COPY Pigeon.Api/ Pigeon.Api/
COPY Pigeon.Grains.Abstractions/ Pigeon.Grains.Abstractions/
COPY Pigeon.Hosting/ Pigeon.Hosting/
COPY Pigeon.Grains/ Pigeon.Grains/
COPY Pigeon.Gateway/ Pigeon.Gateway/
COPY Pigeon.Silo/ Pigeon.Silo/
RUN dotnet publish Pigeon.Silo/Pigeon.Silo.csproj -c Release --no-restore -o /app /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
ENV DOTNET_ENVIRONMENT=Production \
    ASPNETCORE_ENVIRONMENT=Production \
    Urls=http://+:8080 \
    Pigeon__Silo__ListenOnAnyHostAddress=true
# 11111: silo to silo; 30000: Orleans gateway (the Pigeon gateways connect here); 8080: health,
# /metrics and, with Pigeon__Silo__ServeApi=true, the HTTP API itself.
EXPOSE 11111 30000 8080
# The image's unprivileged `app` user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1654
ENTRYPOINT ["dotnet", "Pigeon.Silo.dll"]
