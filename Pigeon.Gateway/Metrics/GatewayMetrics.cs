using Prometheus;

namespace Pigeon.Gateway.Metrics;

/// <summary>Pigeon's own Prometheus metrics; request counts and latencies come from prometheus-net's HTTP middleware.</summary>
internal static class GatewayMetrics
{
    public static readonly Counter EnvelopesDeposited = Prometheus.Metrics.CreateCounter(
        "pigeon_envelopes_deposited_total", "Envelopes committed to recipients' mailboxes.");

    public static readonly Counter EnvelopeBytesDeposited = Prometheus.Metrics.CreateCounter(
        "pigeon_envelope_bytes_deposited_total", "Payload bytes of envelopes committed.");

    public static readonly Counter EnvelopesDelivered = Prometheus.Metrics.CreateCounter(
        "pigeon_envelopes_delivered_total", "Envelopes returned to their recipients by receives.");

    public static readonly Counter EnvelopesAcknowledged = Prometheus.Metrics.CreateCounter(
        "pigeon_envelopes_acknowledged_total", "Envelopes deleted by acknowledgements.");

    public static readonly Gauge OpenLongPolls = Prometheus.Metrics.CreateGauge(
        "pigeon_long_polls_open", "Receives currently waiting for envelopes.");

    public static readonly Counter SiloConnectionsLost = Prometheus.Metrics.CreateCounter(
        "pigeon_silo_connections_lost_total", "Connections to silos' gateways that closed (a silo died, stopped or became unreachable).");

    public static readonly Counter GrainCallRetries = Prometheus.Metrics.CreateCounter(
        "pigeon_grain_call_retries_total", "Grain calls sent again: lost with a silo, or refused because of one.", "reason");

    public static readonly Counter Registrations = Prometheus.Metrics.CreateCounter(
        "pigeon_accounts_registered_total", "Accounts registered through this gateway.");

    public static readonly Counter TokensIssued = Prometheus.Metrics.CreateCounter(
        "pigeon_tokens_issued_total", "Bearer tokens issued.");
}
