using System.Diagnostics.Metrics;
using Pigeon.Hosting.Telemetry;

namespace Pigeon.Gateway.Metrics;

/// <summary>
/// The HTTP API's own instruments, on the meter <see cref="PigeonMeters.Api"/>; request counts and
/// durations are ASP.NET Core's (<c>http.server.request.duration</c>). Served at <c>/metrics</c> by
/// whichever host serves the API, as e.g. <c>pigeon_envelopes_deposited_total</c>.
/// </summary>
public sealed class ApiMetrics
{
    private readonly Counter<long> _deposited;
    private readonly Counter<long> _depositedBytes;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _acknowledged;
    private readonly UpDownCounter<long> _activeLongPolls;
    private readonly Counter<long> _registered;
    private readonly Counter<long> _tokensIssued;

    public ApiMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(PigeonMeters.Api);
        _deposited = meter.CreateCounter<long>("pigeon.envelopes.deposited", "{envelope}", "Envelopes committed to recipients' mailboxes.");
        _depositedBytes = meter.CreateCounter<long>("pigeon.envelopes.deposited.size", "By", "Payload bytes of the envelopes committed.");
        _delivered = meter.CreateCounter<long>("pigeon.envelopes.delivered", "{envelope}", "Envelopes returned to their recipients by receives.");
        _acknowledged = meter.CreateCounter<long>("pigeon.envelopes.acknowledged", "{envelope}", "Envelopes deleted by acknowledgements.");
        _activeLongPolls = meter.CreateUpDownCounter<long>("pigeon.long_polls.active", "{request}", "Receives waiting for envelopes now.");
        _registered = meter.CreateCounter<long>("pigeon.accounts.registered", "{account}", "Accounts registered.");
        _tokensIssued = meter.CreateCounter<long>("pigeon.tokens.issued", "{token}", "Bearer tokens issued.");
    }

    /// <summary>Counts a batch of envelopes committed and their payload bytes.</summary>
    public void Deposited(int envelopes, long bytes)
    {
        _deposited.Add(envelopes);
        _depositedBytes.Add(bytes);
    }

    /// <summary>Counts envelopes a receive returned.</summary>
    public void Delivered(int envelopes) => _delivered.Add(envelopes);

    /// <summary>Counts envelopes an acknowledgement deleted.</summary>
    public void Acknowledged(int envelopes) => _acknowledged.Add(envelopes);

    /// <summary>Counts a long-poll while it waits: dispose the result when it ends.</summary>
    public LongPollScope LongPollStarted()
    {
        _activeLongPolls.Add(1);
        return new LongPollScope(_activeLongPolls);
    }

    /// <summary>Counts a new account.</summary>
    public void Registered() => _registered.Add(1);

    /// <summary>Counts a token issued.</summary>
    public void TokenIssued() => _tokensIssued.Add(1);

    /// <summary>One long-poll counted as active until disposed.</summary>
    public readonly struct LongPollScope(UpDownCounter<long> active) : IDisposable
    {
        /// <inheritdoc />
        public void Dispose() => active.Add(-1);
    }
}
