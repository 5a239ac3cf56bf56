# syntax=docker/dockerfile:1
# pigeon, the command-line client. Its store lives in /data (mount a volume to keep it):
#   docker run --rm -it -v pigeon-alice:/data pigeon-client init --server https://pigeon.example.com --name alice
# Build from the repository root:  docker build -f deploy/docker/client.Dockerfile -t pigeon-client .

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files and lock files only (see silo.Dockerfile).
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props .editorconfig ./
COPY Pigeon.Protocol/Pigeon.Protocol.csproj Pigeon.Protocol/packages.lock.json Pigeon.Protocol/
COPY Pigeon.Api/Pigeon.Api.csproj Pigeon.Api/packages.lock.json Pigeon.Api/
COPY Pigeon.Messaging/Pigeon.Messaging.csproj Pigeon.Messaging/packages.lock.json Pigeon.Messaging/
COPY Pigeon.Client/Pigeon.Client.csproj Pigeon.Client/packages.lock.json Pigeon.Client/
RUN dotnet restore Pigeon.Client/Pigeon.Client.csproj --locked-mode
COPY Pigeon.Protocol/ Pigeon.Protocol/
COPY Pigeon.Api/ Pigeon.Api/
COPY Pigeon.Messaging/ Pigeon.Messaging/
COPY Pigeon.Client/ Pigeon.Client/
RUN dotnet publish Pigeon.Client/Pigeon.Client.csproj -c Release --no-restore -o /app /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/runtime:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
RUN mkdir -p /data && chown 1654:1654 /data
ENV DOTNET_ENVIRONMENT=Production \
    PIGEON_HOME=/data
VOLUME /data
# The client only connects out; it listens on nothing, so there is no EXPOSE.
USER 1654
ENTRYPOINT ["dotnet", "pigeon.dll"]
