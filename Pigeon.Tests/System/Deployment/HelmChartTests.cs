using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Pigeon.Tests.Deployment;

/// <summary>
/// The Helm chart as rendered by <c>helm template</c> (through <c>scripts/helm.sh</c>), checked
/// against the apps: ports, downward-API addresses, probe paths the apps really map, autoscalers,
/// disruption budgets, the migration hook, and secrets kept out of plain environment values.
/// </summary>
public sealed partial class HelmChartTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public static TheoryData<string> ValueSets => ["default", "production"];

    private static Task<RenderedChart> RenderAsync(string valueSet, params string[] extra) => valueSet == "production"
        ? RenderedChart.RenderAsync(Cancellation, ["-f", RenderedChart.ProductionValues, .. extra])
        : RenderedChart.RenderAsync(Cancellation, extra);

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Silo_AdvertisesItsPodIp_OnTheOrleansPorts(string valueSet)
    {
        var chart = await RenderAsync(valueSet);
        var silo = chart.Single("Deployment", "-silo").Container;
        var env = Yaml.Env(silo);

        Assert.Equal("status.podIP", Yaml.String(env["Pigeon__Silo__AdvertisedAddress"], "valueFrom.fieldRef.fieldPath"));
        Assert.Equal("true", Yaml.String(env["Pigeon__Silo__ListenOnAnyHostAddress"], "value"));
        var ports = ContainerPorts(silo);
        Assert.Equal(11111, ports["silo"]);
        Assert.Equal(30000, ports["orleans-gw"]);
        Assert.Equal("11111", Yaml.String(env["Pigeon__Silo__SiloPort"], "value"));
        Assert.Equal("30000", Yaml.String(env["Pigeon__Silo__GatewayPort"], "value"));
        Assert.Equal(ports["http"], UrlsPorts(env)[0]);
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task SilosAndGateways_NameTheirClusterInTheOneSectionBothRead(string valueSet)
    {
        var chart = await RenderAsync(valueSet);
        var section = Pigeon.Hosting.Cluster.PigeonClusterOptions.Section.Replace(":", "__", StringComparison.Ordinal);
        var silo = Yaml.Env(chart.Single("Deployment", "-silo").Container);
        var gateway = Yaml.Env(chart.Single("Deployment", "-gateway").Container);

        foreach (var key in new[] { "ServiceId", "ClusterId" })
        {
            var name = $"{section}__{key}";
            Assert.True(silo.ContainsKey(name), $"The silo has no {name}.");
            Assert.Equal(Yaml.String(silo[name], "value"), Yaml.String(gateway[name], "value"));
        }

        Assert.DoesNotContain(silo.Keys, key => key.StartsWith("Pigeon__Silo__ServiceId", StringComparison.Ordinal) || key.StartsWith("Pigeon__Silo__ClusterId", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Deployments_RollWithoutLosingCapacity_AndOutwaitTheShutdownTimeout(string valueSet)
    {
        var chart = await RenderAsync(valueSet);

        foreach (var deployment in chart.OfKind("Deployment"))
        {
            Assert.Equal(0, Yaml.Int(deployment.Root, "spec.strategy.rollingUpdate.maxUnavailable"));
        }

        var silo = chart.Single("Deployment", "-silo");
        var shutdown = TimeSpan.Parse(Yaml.String(Yaml.Env(silo.Container)["Pigeon__Silo__ShutdownTimeout"], "value"), CultureInfo.InvariantCulture);
        Assert.True(Yaml.Int(silo.PodSpec, "terminationGracePeriodSeconds") > shutdown.TotalSeconds,
            "The grace period must exceed the silo's shutdown timeout.");
        var gateway = chart.Single("Deployment", "-gateway");
        // A long-poll lasts up to 25 s; a stopping gateway must be allowed to finish it.
        Assert.True(Yaml.Int(gateway.PodSpec, "terminationGracePeriodSeconds") > 25);
    }

    [Fact]
    public async Task Chart_RefusesAGracePeriodShorterThanTheShutdownTimeout()
    {
        var result = await Scripts.RunAsync("helm.sh",
            ["template", "--set", "silo.shutdownTimeoutSeconds=60", "--set", "silo.terminationGracePeriodSeconds=30"],
            TimeSpan.FromMinutes(2), Cancellation);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("terminationGracePeriodSeconds", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("silo", "Pigeon.Silo")]
    [InlineData("gateway", "Pigeon.Gateway")]
    public async Task Probes_UsePathsTheAppMaps(string component, string project)
    {
        var chart = await RenderAsync("default");
        var container = chart.Single("Deployment", $"-{component}").Container;
        var mapped = MappedPaths(project);
        var httpPort = ContainerPorts(container)["http"];

        foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
        {
            var path = Yaml.String(container, $"{probe}.httpGet.path");
            Assert.True(mapped.Contains(path), $"{component} {probe} probes {path}, which {project} does not map (it maps {string.Join(", ", mapped)}).");
            var port = Yaml.String(container, $"{probe}.httpGet.port");
            Assert.True(port == "http" || port == httpPort.ToString(CultureInfo.InvariantCulture), $"{probe} probes port {port}.");
        }

        // Readiness is the check that consults the cluster; liveness only the process.
        Assert.Equal("/health/ready", Yaml.String(container, "readinessProbe.httpGet.path"));
        Assert.Equal("/health/live", Yaml.String(container, "livenessProbe.httpGet.path"));
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task SilosAndGateways_HaveAnAutoscalerAndADisruptionBudget(string valueSet)
    {
        var chart = await RenderAsync(valueSet);

        foreach (var component in new[] { "silo", "gateway" })
        {
            var deployment = chart.Single("Deployment", $"-{component}");
            Assert.Null(Yaml.Find(deployment.Root, "spec.replicas")); // the HPA owns the count
            var hpa = chart.Single("HorizontalPodAutoscaler", $"-{component}");
            Assert.Equal("Deployment", Yaml.String(hpa.Root, "spec.scaleTargetRef.kind"));
            Assert.Equal(deployment.Name, Yaml.String(hpa.Root, "spec.scaleTargetRef.name"));
            var metric = Assert.Single(Yaml.List(hpa.Root, "spec.metrics"));
            Assert.Equal("cpu", Yaml.String(metric, "resource.name"));
            Assert.InRange(Yaml.Int(metric, "resource.target.averageUtilization"), 1, 100);
            Assert.True(Yaml.Int(hpa.Root, "spec.minReplicas") >= 2);

            var pdb = chart.Single("PodDisruptionBudget", $"-{component}");
            var podLabels = Yaml.Map(deployment.Root, "spec.template.metadata.labels");
            foreach (var (key, value) in Yaml.Map(pdb.Root, "spec.selector.matchLabels"))
            {
                Assert.Equal(value, podLabels[key]);
            }

            var resources = Yaml.Map(deployment.Container, "resources");
            Assert.NotNull(Yaml.Find(resources, "requests.cpu"));
            Assert.NotNull(Yaml.Find(resources, "requests.memory"));
            Assert.NotNull(Yaml.Find(resources, "limits.memory"));
        }
    }

    [Fact]
    public async Task Autoscaler_CpuTarget_IsConfigurable()
    {
        var chart = await RenderAsync("default",
            "--set", "silo.autoscaling.targetCPUUtilizationPercentage=55", "--set", "gateway.autoscaling.enabled=false", "--set", "gateway.replicaCount=3");

        var metric = Assert.Single(Yaml.List(chart.Single("HorizontalPodAutoscaler", "-silo").Root, "spec.metrics"));
        Assert.Equal(55, Yaml.Int(metric, "resource.target.averageUtilization"));
        Assert.DoesNotContain(chart.OfKind("HorizontalPodAutoscaler"), m => m.Name.EndsWith("-gateway", StringComparison.Ordinal));
        Assert.Equal(3, Yaml.Int(chart.Single("Deployment", "-gateway").Root, "spec.replicas"));
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task MigrationJob_IsAPreInstallAndPreUpgradeHook_RunningSiloMigrate(string valueSet)
    {
        var chart = await RenderAsync(valueSet);
        var job = Assert.Single(chart.OfKind("Job"));

        var hooks = Yaml.StringKey(job.Annotations, "helm.sh/hook").Split(',');
        Assert.Contains("pre-install", hooks);
        Assert.Contains("pre-upgrade", hooks);
        Assert.False(string.IsNullOrWhiteSpace(Yaml.StringKey(job.Annotations, "helm.sh/hook-delete-policy")));
        var container = job.Container;
        Assert.Equal(["migrate"], Yaml.List(container, "args").Select(a => a.ToString()));
        Assert.Equal(Yaml.String(chart.Single("Deployment", "-silo").Container, "image"), Yaml.String(container, "image"));
        Assert.NotNull(Yaml.Find(Yaml.Env(container)["ConnectionStrings__Pigeon"], "valueFrom.secretKeyRef"));

        // The Secret the chart creates must exist before the Job that reads it (the cluster TLS one is for the pods only).
        foreach (var secret in chart.OfKind("Secret").Where(s => !s.Name.EndsWith("-cluster-tls", StringComparison.Ordinal)))
        {
            Assert.True(Yaml.IntKey(secret.Annotations, "helm.sh/hook-weight") < Yaml.IntKey(job.Annotations, "helm.sh/hook-weight"));
        }
    }

    [Fact]
    public async Task SecretValues_NeverAppearInPlainEnvironmentValues()
    {
        const string password = "sentinel-password-4f1c";
        var tokenKey = Convert.ToBase64String(Encoding.ASCII.GetBytes("sentinel-token-key-0123456789abcdef"));
        var chart = await RenderAsync("default",
            "--set", $"database.connectionString=Host=db;Username=pigeon;Password={password}",
            "--set", $"auth.tokenSigningKey={tokenKey}");

        var secret = Assert.Single(chart.OfKind("Secret"), s => !s.Name.EndsWith("-cluster-tls", StringComparison.Ordinal));
        foreach (var manifest in chart.Manifests.Where(m => m.Kind != "Secret"))
        {
            var scalars = Yaml.Scalars(manifest.Root).ToList();
            Assert.DoesNotContain(scalars, s => s.Contains(password, StringComparison.Ordinal));
            Assert.DoesNotContain(scalars, s => s.Contains(tokenKey, StringComparison.Ordinal));
        }

        AssertSecretsComeFromSecretRefs(chart, secret.Name);
        Assert.DoesNotContain(password, chart.Text, StringComparison.Ordinal); // even the Secret holds it base64-encoded only
    }

    [Fact]
    public async Task ExistingSecret_IsUsed_AndNoSecretIsCreated()
    {
        var chart = await RenderAsync("production");

        Assert.Empty(chart.OfKind("Secret"));
        AssertSecretsComeFromSecretRefs(chart, "pigeon-secrets");
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Pods_RunAsNonRoot_OnAReadOnlyRootFilesystem_WithAWritableTmp(string valueSet)
    {
        var chart = await RenderAsync(valueSet);

        foreach (var workload in chart.Manifests.Where(m => m.Kind is "Deployment" or "Job"))
        {
            Assert.Equal("True", Yaml.String(workload.PodSpec, "securityContext.runAsNonRoot"), ignoreCase: true);
            Assert.Equal("false", Yaml.String(workload.PodSpec, "automountServiceAccountToken"), ignoreCase: true);
            foreach (var container in workload.Containers)
            {
                Assert.Equal("true", Yaml.String(container, "securityContext.readOnlyRootFilesystem"), ignoreCase: true);
                Assert.Equal("false", Yaml.String(container, "securityContext.allowPrivilegeEscalation"), ignoreCase: true);
                var tmp = Assert.Single(Yaml.List(container, "volumeMounts").Cast<Dictionary<object, object>>(), m => Yaml.String(m, "mountPath") == "/tmp");
                var volume = Assert.Single(Yaml.List(workload.PodSpec, "volumes").Cast<Dictionary<object, object>>(), v => Yaml.String(v, "name") == Yaml.String(tmp, "name"));
                Assert.NotNull(Yaml.Find(volume, "emptyDir"));
            }
        }
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Resources_CarryTheStandardLabels_AndAServiceAccountExists(string valueSet)
    {
        var chart = await RenderAsync(valueSet);

        foreach (var manifest in chart.Manifests)
        {
            foreach (var label in new[] { "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart" })
            {
                Assert.True(manifest.Labels.ContainsKey(label), $"{manifest} lacks the label {label}.");
            }
        }

        var account = Assert.Single(chart.OfKind("ServiceAccount"));
        foreach (var deployment in chart.OfKind("Deployment"))
        {
            Assert.Equal(account.Name, Yaml.String(deployment.PodSpec, "serviceAccountName"));
        }

        var service = chart.Single("Service", "-gateway");
        var gatewayLabels = Yaml.Map(chart.Single("Deployment", "-gateway").Root, "spec.template.metadata.labels");
        foreach (var (key, value) in Yaml.Map(service.Root, "spec.selector"))
        {
            Assert.Equal(value, gatewayLabels[key]);
        }
    }

    [Fact]
    public async Task Ingress_WaitsLongerThanALongPoll()
    {
        var chart = await RenderAsync("production");
        var ingress = Assert.Single(chart.OfKind("Ingress"));

        var readTimeout = Yaml.IntKey(ingress.Annotations, "nginx.ingress.kubernetes.io/proxy-read-timeout");
        Assert.True(readTimeout > 25, $"proxy-read-timeout {readTimeout} s would cut 25 s long-polls.");
        var backend = Yaml.String(Yaml.List(Yaml.List(ingress.Root, "spec.rules")[0], "http.paths")[0], "backend.service.name");
        Assert.Equal(chart.Single("Service", "-gateway").Name, backend);
        Assert.Empty((await RenderAsync("default")).OfKind("Ingress"));
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Gateway_ReadsTheDatabaseConnection_ForTheAttachmentStore_FromTheSiloSecret(string valueSet)
    {
        var chart = await RenderAsync(valueSet);
        var gateway = Yaml.Find(Yaml.Env(chart.Single("Deployment", "-gateway").Container)["ConnectionStrings__Pigeon"], "valueFrom.secretKeyRef");
        var silo = Yaml.Find(Yaml.Env(chart.Single("Deployment", "-silo").Container)["ConnectionStrings__Pigeon"], "valueFrom.secretKeyRef");
        Assert.NotNull(gateway);
        Assert.Equal(Yaml.String(silo!, "name"), Yaml.String(gateway!, "name"));
        Assert.Equal(Yaml.String(silo!, "key"), Yaml.String(gateway!, "key"));
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task GatewayMetrics_AreServedOnAPortTheServiceLeavesOut(string valueSet)
    {
        var chart = await RenderAsync(valueSet);
        var gateway = chart.Single("Deployment", "-gateway");
        var ports = ContainerPorts(gateway.Container);
        var env = Yaml.Env(gateway.Container);

        Assert.Equal([ports["http"], ports["metrics"]], UrlsPorts(env));
        Assert.Equal(ports["metrics"], int.Parse(Yaml.String(env["Pigeon__Metrics__Port"], "value"), CultureInfo.InvariantCulture));
        foreach (var servicePort in Yaml.List(chart.Single("Service", "-gateway").Root, "spec.ports"))
        {
            var target = Yaml.String(servicePort, "targetPort");
            Assert.True(target == "http" || target == ports["http"].ToString(CultureInfo.InvariantCulture), $"The gateway Service exposes port {target}.");
        }

        var podAnnotations = Yaml.Map(gateway.Root, "spec.template.metadata.annotations");
        Assert.Equal("true", Yaml.StringKey(podAnnotations, "prometheus.io/scrape"));
        Assert.Equal(ports["metrics"], Yaml.IntKey(podAnnotations, "prometheus.io/port"));
        Assert.Equal("/metrics", Yaml.StringKey(podAnnotations, "prometheus.io/path"));
        Assert.Contains("/metrics", MappedPaths("Pigeon.Gateway"));

        var silo = chart.Single("Deployment", "-silo");
        var siloPorts = ContainerPorts(silo.Container);
        var siloEnv = Yaml.Env(silo.Container);
        var siloAnnotations = Yaml.Map(silo.Root, "spec.template.metadata.annotations");
        Assert.Equal([siloPorts["http"], siloPorts["metrics"]], UrlsPorts(siloEnv));
        Assert.Equal(siloPorts["metrics"], int.Parse(Yaml.String(siloEnv["Pigeon__Metrics__Port"], "value"), CultureInfo.InvariantCulture));
        Assert.Equal(siloPorts["metrics"], Yaml.IntKey(siloAnnotations, "prometheus.io/port"));
        Assert.Contains("/metrics", MappedPaths("Pigeon.Silo"));
    }

    [Fact]
    public async Task SignInOrigins_AreTheIngressHosts_UnlessGiven_OnWhateverServesTheApi()
    {
        var production = Yaml.Env((await RenderAsync("production")).Single("Deployment", "-gateway").Container);
        Assert.Equal("https://pigeon.example.com", Yaml.String(production["Pigeon__Auth__Origins__0"], "value"));
        Assert.DoesNotContain("Pigeon__Auth__Origins__1", production.Keys);

        var given = await RenderAsync("default", "--set", "silo.serveApi=true", "--set", "auth.origins[0]=https://chat.example.org");
        var silo = Yaml.Env(given.Single("Deployment", "-silo").Container);
        Assert.Equal("https://chat.example.org", Yaml.String(silo["Pigeon__Auth__Origins__0"], "value"));

        var refused = await Scripts.RunAsync("helm.sh", ["template", "--set", "auth.origins[0]=https://chat.example.org/v1"], TimeSpan.FromMinutes(2), Cancellation);
        Assert.NotEqual(0, refused.ExitCode);
    }

    [Fact]
    public async Task Dashboard_IsOffByDefault_AndOnlyOnTheSilosMetricsPortWhenOn()
    {
        Assert.DoesNotContain("Pigeon__Silo__Dashboard", Yaml.Env((await RenderAsync("default")).Single("Deployment", "-silo").Container).Keys);

        var chart = await RenderAsync("default", "--set", "silo.dashboard=true");
        var silo = chart.Single("Deployment", "-silo").Container;
        var env = Yaml.Env(silo);
        Assert.Equal("true", Yaml.String(env["Pigeon__Silo__Dashboard"], "value"));
        // The app serves it on Pigeon:Metrics:Port only, which no Service publishes.
        Assert.Equal(ContainerPorts(silo)["metrics"], int.Parse(Yaml.String(env["Pigeon__Metrics__Port"], "value"), CultureInfo.InvariantCulture));
        Assert.DoesNotContain(chart.OfKind("Service").SelectMany(s => Yaml.List(s.Root, "spec.ports")), p => Yaml.String(p, "targetPort") == "metrics");
    }

    [Fact]
    public async Task Traces_GoToTheConfiguredCollector_FromSilosAndGateways_AndNowhereByDefault()
    {
        var chart = await RenderAsync("default", "--set", "telemetry.otlpEndpoint=http://collector.monitoring:4317");
        var quiet = await RenderAsync("default");

        foreach (var component in new[] { "silo", "gateway" })
        {
            var env = Yaml.Env(chart.Single("Deployment", $"-{component}").Container);
            Assert.Equal("http://collector.monitoring:4317", Yaml.String(env[Pigeon.Hosting.Telemetry.PigeonTelemetry.OtlpEndpointKey], "value"));
            Assert.Equal("grpc", Yaml.String(env["OTEL_EXPORTER_OTLP_PROTOCOL"], "value"));
            Assert.DoesNotContain(Pigeon.Hosting.Telemetry.PigeonTelemetry.OtlpEndpointKey, Yaml.Env(quiet.Single("Deployment", $"-{component}").Container).Keys);
        }
    }

    [Fact]
    public async Task CoHosted_RendersNoGateway_AndTheApiServiceAndIngressReachTheSilos()
    {
        var chart = await RenderAsync("default", "--set", "silo.serveApi=true", "--set", "ingress.enabled=true",
            "--set", "gateway.limits.MaxEnvelopeBytes=1000", "--set", "gateway.trustedProxyNetworks[0]=10.0.0.0/8");

        Assert.DoesNotContain(chart.Manifests, m => m.Name.EndsWith("-gateway", StringComparison.Ordinal));
        var silo = chart.Single("Deployment", "-silo");
        var env = Yaml.Env(silo.Container);
        Assert.Equal("true", Yaml.String(env["Pigeon__Silo__ServeApi"], "value"));
        Assert.NotNull(Yaml.Find(env["Pigeon__Auth__TokenSigningKey"], "valueFrom.secretKeyRef.name"));
        Assert.Equal("1000", Yaml.String(env["Pigeon__Limits__MaxEnvelopeBytes"], "value"));
        Assert.Equal("10.0.0.0/8", Yaml.String(env["Pigeon__ForwardedHeaders__KnownNetworks__0"], "value"));

        Assert.Equal(5, Yaml.Int(silo.Container, "lifecycle.preStop.sleep.seconds"));

        var service = chart.Single("Service", "-api");
        Assert.True(Selects(Yaml.Map(service.Root, "spec.selector"), Yaml.Map(silo.Root, "spec.template.metadata.labels")));
        Assert.Equal("http", Yaml.String(Assert.Single(Yaml.List(service.Root, "spec.ports")), "targetPort"));
        var backend = Yaml.List(Yaml.List(chart.Single("Ingress", "").Root, "spec.rules")[0], "http.paths")[0];
        Assert.Equal(service.Name, Yaml.String(backend, "backend.service.name"));

        // The API port is open to anyone, the metrics port only to the scrapers.
        var restricted = await RenderAsync("default", "--set", "silo.serveApi=true",
            "--set", "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=observability");
        var ports = ContainerPorts(silo.Container);
        var rules = Yaml.List(restricted.Single("NetworkPolicy", "-silo").Root, "spec.ingress");
        Assert.Null(Yaml.Find(Assert.Single(rules, r => RulePorts(r, ports).Contains(ports["http"])), "from"));
        var metrics = Assert.Single(rules, r => RulePorts(r, ports).Contains(ports["metrics"]));
        Assert.Equal("observability", Yaml.String(Yaml.List(metrics, "from")[0], "namespaceSelector.matchLabels.team"));
        Assert.Single(restricted.OfKind("HorizontalPodAutoscaler"));
        Assert.Single(restricted.OfKind("PodDisruptionBudget"));
    }

    [Fact]
    public async Task ScrapeAnnotations_CanBeTurnedOff_AndPodAnnotationsWin()
    {
        var off = await RenderAsync("default", "--set", "metrics.scrapeAnnotations=false");
        foreach (var deployment in off.OfKind("Deployment"))
        {
            Assert.Null(Yaml.Find(deployment.Root, "spec.template.metadata.annotations"));
        }

        var overridden = await RenderAsync("default", "--set-string", "silo.podAnnotations.prometheus\\.io/scrape=false");
        var annotations = Yaml.Map(overridden.Single("Deployment", "-silo").Root, "spec.template.metadata.annotations");
        Assert.Equal("false", Yaml.StringKey(annotations, "prometheus.io/scrape"));
    }

    [Fact]
    public async Task PodMonitors_WhenEnabled_SelectEachComponentsPodsAndNameAPortTheyHave()
    {
        Assert.Empty((await RenderAsync("default")).OfKind("PodMonitor"));

        var chart = await RenderAsync("default", "--set", "metrics.podMonitor.enabled=true", "--set", "metrics.podMonitor.labels.release=prom");
        var monitors = chart.OfKind("PodMonitor").ToList();
        Assert.Equal(2, monitors.Count);
        foreach (var component in new[] { "silo", "gateway" })
        {
            var monitor = chart.Single("PodMonitor", $"-{component}");
            var deployment = chart.Single("Deployment", $"-{component}");
            var podLabels = Yaml.Map(deployment.Root, "spec.template.metadata.labels");
            foreach (var (key, value) in Yaml.Map(monitor.Root, "spec.selector.matchLabels"))
            {
                Assert.Equal(value, podLabels[key]);
            }

            Assert.Equal("prom", Yaml.String(monitor.Root, "metadata.labels.release"));
            var endpoint = Assert.Single(Yaml.List(monitor.Root, "spec.podMetricsEndpoints"));
            Assert.Equal("/metrics", Yaml.String(endpoint, "path"));
            var port = Yaml.String(endpoint, "port");
            Assert.Equal(Yaml.IntKey(Yaml.Map(deployment.Root, "spec.template.metadata.annotations"), "prometheus.io/port"),
                ContainerPorts(deployment.Container)[port]);
        }
    }

    [Fact]
    public async Task TrustedProxies_ReachTheGatewaysForwardedHeaderSettings()
    {
        var section = Pigeon.Gateway.Hosting.ForwardedHeadersSettings.Section.Replace(":", "__", StringComparison.Ordinal);
        var networks = $"{section}__{nameof(Pigeon.Gateway.Hosting.ForwardedHeadersSettings.KnownNetworks)}__";
        var hops = $"{section}__{nameof(Pigeon.Gateway.Hosting.ForwardedHeadersSettings.ForwardLimit)}";

        var byDefault = Yaml.Env((await RenderAsync("default")).Single("Deployment", "-gateway").Container);
        Assert.DoesNotContain(byDefault.Keys, name => name.StartsWith(networks, StringComparison.Ordinal));
        Assert.Equal("1", Yaml.String(byDefault[hops], "value"));

        var chart = await RenderAsync("default", "--set", "gateway.trustedProxyNetworks={10.0.0.0/8,fd00::/8}", "--set", "gateway.trustedProxyHops=2");
        var env = Yaml.Env(chart.Single("Deployment", "-gateway").Container);
        Assert.Equal("10.0.0.0/8", Yaml.String(env[networks + "0"], "value"));
        Assert.Equal("fd00::/8", Yaml.String(env[networks + "1"], "value"));
        Assert.Equal("2", Yaml.String(env[hops], "value"));

        var production = Yaml.Env((await RenderAsync("production")).Single("Deployment", "-gateway").Container);
        Assert.True(System.Net.IPNetwork.TryParse(Yaml.String(production[networks + "0"], "value"), out _));
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task NetworkPolicies_LetOnlySilosAndGatewaysReachTheOrleansPorts(string valueSet)
    {
        var chart = await RenderAsync(valueSet);
        var silo = chart.Single("Deployment", "-silo");
        var gateway = chart.Single("Deployment", "-gateway");
        var siloLabels = Yaml.Map(silo.Root, "spec.template.metadata.labels");
        var gatewayLabels = Yaml.Map(gateway.Root, "spec.template.metadata.labels");
        var migrateLabels = Yaml.Map(Assert.Single(chart.OfKind("Job")).Root, "spec.template.metadata.labels");

        var siloPolicy = chart.Single("NetworkPolicy", "-silo");
        Assert.True(Selects(Yaml.Map(siloPolicy.Root, "spec.podSelector.matchLabels"), siloLabels));
        Assert.Equal(["Ingress"], Yaml.List(siloPolicy.Root, "spec.policyTypes").Select(Convert.ToString));
        var siloPorts = ContainerPorts(silo.Container);
        foreach (var orleansPort in new[] { "silo", "orleans-gw" })
        {
            var rule = Assert.Single(Yaml.List(siloPolicy.Root, "spec.ingress"), r => RulePorts(r, siloPorts).Contains(siloPorts[orleansPort]));
            var peers = Yaml.List(rule, "from").Select(p => Yaml.Map(p, "podSelector.matchLabels")).ToList();
            Assert.Equal(2, peers.Count);
            Assert.Contains(peers, p => Selects(p, siloLabels));
            Assert.Contains(peers, p => Selects(p, gatewayLabels));
            Assert.DoesNotContain(peers, p => Selects(p, migrateLabels));
        }

        var gatewayPolicy = chart.Single("NetworkPolicy", "-gateway");
        Assert.True(Selects(Yaml.Map(gatewayPolicy.Root, "spec.podSelector.matchLabels"), gatewayLabels));
        var gatewayPorts = ContainerPorts(gateway.Container);
        var api = Assert.Single(Yaml.List(gatewayPolicy.Root, "spec.ingress"), r => RulePorts(r, gatewayPorts).Contains(gatewayPorts["http"]));
        Assert.Null(Yaml.Find(api, "from")); // the public API: from anywhere

        var scraper = new[] { "--set", "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=observability" };
        var restricted = await RenderAsync(valueSet, scraper);
        var metricsRule = Assert.Single(Yaml.List(restricted.Single("NetworkPolicy", "-gateway").Root, "spec.ingress"),
            r => RulePorts(r, gatewayPorts).Contains(gatewayPorts["metrics"]));
        Assert.Equal("observability", Yaml.String(Yaml.List(metricsRule, "from")[0], "namespaceSelector.matchLabels.team"));

        Assert.Empty((await RenderAsync(valueSet, "--set", "networkPolicy.enabled=false")).OfKind("NetworkPolicy"));
    }

    private static bool Selects(Dictionary<object, object> selector, Dictionary<object, object> podLabels) =>
        selector.Count > 0 && selector.All(pair => podLabels.TryGetValue(pair.Key, out var value) && Equals(value, pair.Value));

    // A rule's ports as numbers, named ports resolved against the container's.
    private static HashSet<int> RulePorts(object rule, Dictionary<string, int> containerPorts) =>
        [.. Yaml.List(rule, "ports").Select(p => Yaml.String(p, "port")).Select(port =>
            containerPorts.TryGetValue(port, out var number) ? number : int.Parse(port, CultureInfo.InvariantCulture))];

    [Fact]
    public async Task ClusterTls_MountsTheSecretIntoSilosAndGateways_AndPointsTheSettingsAtIt()
    {
        var section = Pigeon.Hosting.Cluster.ClusterTlsOptions.Section.Replace(":", "__", StringComparison.Ordinal);
        string[] keys =
        [
            nameof(Pigeon.Hosting.Cluster.ClusterTlsOptions.CertificatePath),
            nameof(Pigeon.Hosting.Cluster.ClusterTlsOptions.KeyPath),
            nameof(Pigeon.Hosting.Cluster.ClusterTlsOptions.AuthorityPath),
        ];

        foreach (var deployment in (await RenderAsync("default", "--set", "clusterTls.enabled=false")).OfKind("Deployment"))
        {
            Assert.DoesNotContain(Yaml.Env(deployment.Container).Keys, name => name.StartsWith(section, StringComparison.Ordinal));
        }

        var chart = await RenderAsync("default", "--set", "clusterTls.secretName=from-cert-manager");
        Assert.DoesNotContain(chart.OfKind("Secret"), s => s.Name.EndsWith("-cluster-tls", StringComparison.Ordinal));
        foreach (var component in new[] { "silo", "gateway" })
        {
            var deployment = chart.Single("Deployment", $"-{component}");
            var volume = Assert.Single(Yaml.List(deployment.PodSpec, "volumes"), v => Yaml.Find(v, "secret") is not null);
            Assert.Equal("from-cert-manager", Yaml.String(volume, "secret.secretName"));
            var mount = Assert.Single(Yaml.List(deployment.Container, "volumeMounts"), m => Yaml.String(m, "name") == Yaml.String(volume, "name"));
            Assert.Equal("true", Yaml.String(mount, "readOnly"), ignoreCase: true);
            var env = Yaml.Env(deployment.Container);
            var files = keys.Select(key => Yaml.String(env[$"{section}__{key}"], "value")).ToArray();
            Assert.All(files, file => Assert.StartsWith(Yaml.String(mount, "mountPath") + "/", file, StringComparison.Ordinal));
            Assert.Equal(["tls.crt", "tls.key", "ca.crt"], files.Select(Path.GetFileName));
        }

        var job = Assert.Single(chart.OfKind("Job"));
        Assert.DoesNotContain(Yaml.Env(job.Container).Keys, name => name.StartsWith(section, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task ClusterTls_IsOnByDefault_AndInTheProductionExample(string valueSet)
    {
        var chart = await RenderAsync(valueSet);

        foreach (var component in new[] { "silo", "gateway" })
        {
            var env = Yaml.Env(chart.Single("Deployment", $"-{component}").Container);
            Assert.Equal("/etc/pigeon/cluster-tls/tls.crt", Yaml.String(env["Pigeon__ClusterTls__CertificatePath"], "value"));
        }
    }

    [Fact]
    public async Task ClusterTls_WithoutASecret_GeneratesAnAuthorityAndACertificateTheAppsAccept()
    {
        var chart = await RenderAsync("default");
        var secret = chart.Single("Secret", "-cluster-tls");
        var volume = Assert.Single(Yaml.List(chart.Single("Deployment", "-silo").PodSpec, "volumes"), v => Yaml.Find(v, "secret") is not null);
        Assert.Equal(secret.Name, Yaml.String(volume, "secret.secretName"));
        var directory = Directory.CreateTempSubdirectory("pigeon-chart-tls-").FullName;
        try
        {
            var options = ChartCertificates.Write(secret, directory);
            Assert.Empty(options.Validate());
            using var certificates = Pigeon.Hosting.Cluster.ClusterCertificates.Load(options);
            Assert.True(certificates.IsIssuedByTheCluster(certificates.Certificate));
            var usages = certificates.Certificate.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension>()
                .SelectMany(e => e.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>()).Select(o => o.Value).ToList();
            Assert.Contains("1.3.6.1.5.5.7.3.1", usages); // server authentication
            Assert.Contains("1.3.6.1.5.5.7.3.2", usages); // client authentication
            // Only the authority's certificate is stored, never its key.
            Assert.DoesNotContain("PRIVATE KEY", System.Text.Encoding.ASCII.GetString(secret.SecretData("ca.crt")), StringComparison.Ordinal);

            // Another render (another install) makes another authority, whose peers this one refuses.
            var other = ChartCertificates.Write((await RenderAsync("default")).Single("Secret", "-cluster-tls"), Path.Combine(directory, "other"));
            using var stranger = Pigeon.Hosting.Cluster.ClusterCertificates.Load(other);
            Assert.False(certificates.IsIssuedByTheCluster(stranger.Certificate));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Chart_RefusesAMetricsPortEqualToTheApiPort()
    {
        var result = await Scripts.RunAsync("helm.sh",
            ["template", "--set", "gateway.metricsPort=8080", "--set", "gateway.httpPort=8080"], TimeSpan.FromMinutes(2), Cancellation);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("gateway.metricsPort", result.Error, StringComparison.Ordinal);
    }

    private static void AssertSecretsComeFromSecretRefs(RenderedChart chart, string secretName)
    {
        var sensitive = new[] { "ConnectionStrings__Pigeon", "Pigeon__Auth__TokenSigningKey", "Pigeon__Auth__PreviousTokenSigningKey" };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var workload in chart.Manifests.Where(m => m.Kind is "Deployment" or "Job"))
        {
            foreach (var (name, variable) in workload.Containers.SelectMany(Yaml.Env))
            {
                var isSensitive = sensitive.Contains(name) || name.Contains("Password", StringComparison.OrdinalIgnoreCase)
                    || name.Contains("SigningKey", StringComparison.OrdinalIgnoreCase) || name.StartsWith("ConnectionStrings__", StringComparison.Ordinal);
                if (!isSensitive)
                {
                    continue;
                }

                seen.Add(name);
                Assert.Null(Yaml.Find(variable, "value"));
                Assert.Equal(secretName, Yaml.String(variable, "valueFrom.secretKeyRef.name"));
            }
        }

        Assert.Superset(sensitive.ToHashSet(StringComparer.Ordinal), seen);
    }

    private static Dictionary<string, int> ContainerPorts(Dictionary<object, object> container) =>
        Yaml.List(container, "ports").ToDictionary(p => Yaml.String(p, "name"), p => Yaml.Int(p, "containerPort"), StringComparer.Ordinal);


    private static int[] UrlsPorts(Dictionary<string, Dictionary<object, object>> env) =>
        [.. Yaml.String(env["Urls"], "value").Split(';').Select(url => int.Parse(url[(url.LastIndexOf(':') + 1)..].TrimEnd('/'), CultureInfo.InvariantCulture))];

    /// <summary>The literal routes an app maps (MapHealthChecks, MapGet, MapMetrics...), read from its source.</summary>
    private static HashSet<string> MappedPaths(string project)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        // Both apps map the health endpoints and /metrics through the shared hosting layer, and the
        // silo maps the API's routes through the gateway's.
        string[] folders = project == "Pigeon.Silo" ? [project, "Pigeon.Hosting", "Pigeon.Gateway"] : [project, "Pigeon.Hosting"];
        foreach (var file in folders
                     .SelectMany(folder => Directory.EnumerateFiles(Scripts.PathOf(folder), "*.cs", SearchOption.AllDirectories))
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            foreach (Match match in MapCall().Matches(File.ReadAllText(file)))
            {
                paths.Add(match.Groups["path"].Value);
            }
        }

        Assert.NotEmpty(paths);
        return paths;
    }

    [GeneratedRegex("""\.Map(?:HealthChecks|Get|Metrics|PrometheusScrapingEndpoint)\(\s*"(?<path>/[^"]*)"\s*[,)]""")]
    private static partial Regex MapCall();
}
