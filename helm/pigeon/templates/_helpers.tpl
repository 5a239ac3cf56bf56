{{/* The chart name, overridable. */}}
{{- define "pigeon.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every resource name: <release>-pigeon, or the release name when it already says pigeon. */}}
{{- define "pigeon.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "pigeon.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every resource carries. */}}
{{- define "pigeon.labels" -}}
helm.sh/chart: {{ include "pigeon.chart" . }}
app.kubernetes.io/name: {{ include "pigeon.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pigeon
{{- end }}

{{/* Selector labels of one component: call with (dict "root" $ "component" "silo"). */}}
{{- define "pigeon.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pigeon.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* All labels of one component: call with (dict "root" $ "component" "silo"). */}}
{{- define "pigeon.componentLabels" -}}
{{ include "pigeon.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "pigeon.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pigeon.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the connection string and the token keys. */}}
{{- define "pigeon.secretName" -}}
{{- default (include "pigeon.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "pigeon.clusterId" -}}
{{- default .Release.Name .Values.cluster.clusterId }}
{{- end }}

{{/* An image reference: call with (dict "root" $ "image" .Values.silo.image). */}}
{{- define "pigeon.image" -}}
{{- $tag := default .root.Chart.AppVersion .root.Values.image.tag }}
{{- if .root.Values.image.registry }}
{{- printf "%s/%s:%s" (trimSuffix "/" .root.Values.image.registry) .image.repository $tag }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{/* The database connection string, always from the Secret. */}}
{{- define "pigeon.connectionStringEnv" -}}
- name: ConnectionStrings__Pigeon
  valueFrom:
    secretKeyRef:
      name: {{ include "pigeon.secretName" . }}
      key: {{ .Values.secrets.keys.connectionString }}
{{- end }}

{{/* The volumes every pod mounts: a writable /tmp under a read-only root filesystem. */}}
{{- define "pigeon.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end }}

{{- define "pigeon.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* Whole seconds as a .NET TimeSpan (hh:mm:ss). */}}
{{- define "pigeon.timespan" -}}
{{- $s := int . }}
{{- printf "%02d:%02d:%02d" (div $s 3600) (mod (div $s 60) 60) (mod $s 60) }}
{{- end }}

{{/*
A pod template's annotations: the Prometheus scrape annotations for the port that serves /metrics
(when metrics.scrapeAnnotations is on), overridden by the component's own podAnnotations.
Call with (dict "root" $ "annotations" <podAnnotations> "metricsPort" <port>).
*/}}
{{- define "pigeon.podAnnotations" -}}
{{- $annotations := deepCopy (.annotations | default dict) -}}
{{- if .root.Values.metrics.scrapeAnnotations -}}
{{- $scrape := dict "prometheus.io/scrape" "true" "prometheus.io/port" (toString .metricsPort) "prometheus.io/path" "/metrics" -}}
{{- $annotations = merge $annotations $scrape -}}
{{- end -}}
{{- with $annotations -}}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end }}

{{/* The cluster TLS Secret as a volume, its mount, and the settings that point at it (silos and gateways). */}}
{{/* The cluster TLS Secret: the one named, or the one the chart generates. */}}
{{- define "pigeon.clusterTlsSecretName" -}}
{{- default (printf "%s-cluster-tls" (include "pigeon.fullname" .)) .Values.clusterTls.secretName }}
{{- end }}

{{- define "pigeon.clusterTlsVolume" -}}
{{- if .Values.clusterTls.enabled -}}
- name: cluster-tls
  secret:
    secretName: {{ include "pigeon.clusterTlsSecretName" . }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{- define "pigeon.clusterTlsVolumeMount" -}}
{{- if .Values.clusterTls.enabled -}}
- name: cluster-tls
  mountPath: /etc/pigeon/cluster-tls
  readOnly: true
{{- end }}
{{- end }}

{{- define "pigeon.clusterTlsEnv" -}}
{{- if .Values.clusterTls.enabled -}}
- name: Pigeon__ClusterTls__CertificatePath
  value: /etc/pigeon/cluster-tls/tls.crt
- name: Pigeon__ClusterTls__KeyPath
  value: /etc/pigeon/cluster-tls/tls.key
- name: Pigeon__ClusterTls__AuthorityPath
  value: /etc/pigeon/cluster-tls/ca.crt
{{- end }}
{{- end }}

{{/* Where silos and gateways send traces, when anywhere. */}}
{{- define "pigeon.telemetryEnv" -}}
{{- if .Values.telemetry.otlpEndpoint -}}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.telemetry.otlpEndpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ .Values.telemetry.otlpProtocol | quote }}
{{- end }}
{{- end }}

{{/* The origins clients sign in to: auth.origins, or else the Ingress's hosts; as a JSON list. */}}
{{- define "pigeon.apiOrigins" -}}
{{- $origins := list }}
{{- if .Values.auth.origins }}
{{- $origins = .Values.auth.origins }}
{{- else if .Values.ingress.enabled }}
{{- $scheme := ternary "https" "http" (not (empty .Values.ingress.tls)) }}
{{- range .Values.ingress.hosts }}
{{- $origins = append $origins (printf "%s://%s" $scheme .host) }}
{{- end }}
{{- end }}
{{- toJson $origins }}
{{- end }}

{{/* Whether the silos serve the HTTP API themselves (co-hosted), so that no gateway pods run. */}}
{{- define "pigeon.coHosted" -}}
{{- if .Values.silo.serveApi }}true{{ end }}
{{- end }}

{{/* The Service in front of whatever serves the API: the gateways, or the silos when co-hosted. */}}
{{- define "pigeon.apiServiceName" -}}
{{- if include "pigeon.coHosted" . }}{{ include "pigeon.fullname" . }}-api{{ else }}{{ include "pigeon.fullname" . }}-gateway{{ end }}
{{- end }}

{{- define "pigeon.apiComponent" -}}
{{- if include "pigeon.coHosted" . }}silo{{ else }}gateway{{ end }}
{{- end }}

{{/* The settings of the HTTP API, for the pods that serve it (gateways, or co-hosted silos): token keys, trusted proxies, limits. */}}
{{- define "pigeon.apiEnv" -}}
- name: Pigeon__Auth__TokenSigningKey
  valueFrom:
    secretKeyRef:
      name: {{ include "pigeon.secretName" . }}
      key: {{ .Values.secrets.keys.tokenSigningKey }}
- name: Pigeon__Auth__PreviousTokenSigningKey
  valueFrom:
    secretKeyRef:
      name: {{ include "pigeon.secretName" . }}
      key: {{ .Values.secrets.keys.previousTokenSigningKey }}
      optional: true
{{- range $index, $network := .Values.gateway.trustedProxyNetworks }}
- name: Pigeon__ForwardedHeaders__KnownNetworks__{{ $index }}
  value: {{ $network | quote }}
{{- end }}
- name: Pigeon__ForwardedHeaders__ForwardLimit
  value: {{ .Values.gateway.trustedProxyHops | quote }}
{{- range $index, $origin := include "pigeon.apiOrigins" . | fromJsonArray }}
- name: Pigeon__Auth__Origins__{{ $index }}
  value: {{ $origin | quote }}
{{- end }}
{{- range $key, $value := .Values.gateway.limits }}
- name: Pigeon__Limits__{{ $key }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
