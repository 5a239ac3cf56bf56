using Pigeon.Api;
using Pigeon.Bench.Api;
using Pigeon.Bench.Stats;

namespace Pigeon.Bench.Scenarios;

/// <summary>
/// Keeps one long-poll open on each user's mailbox, hands every envelope to the current phase and
/// acknowledges it, until stopped: on the next poll (<c>--ack-mode poll</c>) or with a request of its
/// own (<c>separate</c>). The phase can be swapped between loops; the polls stay open.
/// </summary>
public sealed class MailboxReader
{
    private readonly LoadClient _client;
    private readonly int _waitSeconds;
    private readonly int _max;
    private readonly bool _awaitAcks;
    private readonly bool _ackOnPoll;
    private readonly Func<VirtualUser, IncomingEnvelope, bool>? _open;
    private long _openPolls;
    private long _peakOpenPolls;
    private Phase _phase;

    /// <summary>
    /// A reader for the given users; <paramref name="open"/>, when given, decrypts a payload and
    /// says whether it was genuine. With <paramref name="ackOnPoll"/> each poll carries the previous
    /// batch's acknowledgements, and what is left is posted when the reader stops; otherwise each batch
    /// is acknowledged with a request of its own. With <paramref name="awaitAcks"/> (drain) the
    /// acknowledgement is confirmed before the reader polls on: a separate one is awaited, and a poll
    /// that carries one does not wait on the server. Otherwise separate acknowledgements run beside the
    /// polls, and carried ones are confirmed whenever the poll that carries them returns.
    /// </summary>
    internal MailboxReader(LoadClient client, Phase phase, int waitSeconds, int max, bool awaitAcks, bool ackOnPoll,
        Func<VirtualUser, IncomingEnvelope, bool>? open = null)
    {
        _client = client;
        _phase = phase;
        _waitSeconds = waitSeconds;
        _max = max;
        _awaitAcks = awaitAcks;
        _ackOnPoll = ackOnPoll;
        _open = open;
    }

    /// <summary>Long-polls waiting at the gateway right now (sent, not yet answered).</summary>
    public long OpenPolls => Interlocked.Read(ref _openPolls);

    /// <summary>The most long-polls that were waiting at once.</summary>
    public long PeakOpenPolls => Interlocked.Read(ref _peakOpenPolls);

    /// <summary>Payloads that failed to decrypt (end-to-end mode).</summary>
    public long Undecryptable => Interlocked.Read(ref _undecryptable);

    private long _undecryptable;

    /// <summary>The phase receipts are counted in.</summary>
    public Phase Phase
    {
        get => Volatile.Read(ref _phase);
        set => Volatile.Write(ref _phase, value);
    }

    /// <summary>Reads <paramref name="user"/>'s mailbox until <paramref name="stop"/> is cancelled.</summary>
    public async Task RunAsync(VirtualUser user, CancellationToken stop)
    {
        var acks = new List<Task>();
        var backlog = new AckBacklog();
        while (!stop.IsCancellationRequested)
        {
            // At most one batch, so within max: an answer confirms what its poll carried before its envelopes are held.
            var carried = backlog.Ids;
            var wait = _awaitAcks && carried.Count > 0 ? 0 : _waitSeconds;
            ReceiveResponse response;
            var opened = Interlocked.Increment(ref _openPolls);
            UpdatePeak(opened);
            var sentAt = Phase.Time.GetTimestamp();
            try
            {
                response = await _client.ReceiveAsync(user, wait, _max, carried, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                backlog.Failed(carried);
                break;
            }
            catch (GatewayRequestException e)
            {
                backlog.Failed(carried);
                if (stop.IsCancellationRequested)
                {
                    break;
                }

                Phase.Answered("receive", sentAt, TimeSpan.FromSeconds(wait), succeeded: false);
                Phase.Failed(e.Key);
                await PauseAsync(e.RetryAfter ?? TimeSpan.FromMilliseconds(250), stop);
                continue;
            }
            finally
            {
                Interlocked.Decrement(ref _openPolls);
            }

            var receivedAt = Phase.Time.GetTimestamp();
            Phase.Answered("receive", sentAt, TimeSpan.FromSeconds(wait), succeeded: true);
            backlog.Confirmed(carried, response.Acknowledged);
            if (response.Envelopes.Count == 0)
            {
                continue;
            }

            var phase = Phase;
            foreach (var envelope in response.Envelopes)
            {
                if (_open is not null && !_open(user, envelope))
                {
                    Interlocked.Increment(ref _undecryptable);
                }

                phase.Received(envelope.MessageId, receivedAt);
                user.After = Math.Max(user.After, envelope.Sequence);
                if (_ackOnPoll)
                {
                    backlog.Add(envelope.MessageId, phase);
                }
            }

            if (_ackOnPoll)
            {
                continue;
            }

            var ack = AckAsync(user, phase, [.. response.Envelopes.Select(e => e.MessageId)]);
            if (_awaitAcks)
            {
                await ack;
            }
            else
            {
                acks.RemoveAll(t => t.IsCompleted);
                acks.Add(ack);
            }
        }

        await Task.WhenAll(acks);
        if (backlog.Count > 0)
        {
            await FlushAsync(user, backlog);
        }
    }

    private async Task AckAsync(VirtualUser user, Phase phase, List<Guid> ids)
    {
        var sentAt = phase.Time.GetTimestamp();
        try
        {
            // Not cancelled by the stop: what was received is acknowledged, so the mailbox ends empty.
            phase.AddAcknowledged(await _client.AckAsync(user, ids, CancellationToken.None));
            phase.Answered("ack", sentAt, TimeSpan.Zero, succeeded: true);
        }
        catch (GatewayRequestException e)
        {
            phase.Answered("ack", sentAt, TimeSpan.Zero, succeeded: false);
            phase.Failed(e.Key);
        }
    }

    private async Task FlushAsync(VirtualUser user, AckBacklog backlog)
    {
        var ids = backlog.Ids;
        try
        {
            // Not cancelled by the stop, as above.
            backlog.Confirmed(ids, await _client.AckAsync(user, ids, CancellationToken.None));
        }
        catch (GatewayRequestException e)
        {
            backlog.Failed(ids);
            Phase.Failed(e.Key);
        }
    }

    private void UpdatePeak(long value)
    {
        var peak = Interlocked.Read(ref _peakOpenPolls);
        while (value > peak && Interlocked.CompareExchange(ref _peakOpenPolls, value, peak) != peak)
        {
            peak = Interlocked.Read(ref _peakOpenPolls);
        }
    }

    private static async Task PauseAsync(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, stop);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
