using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Concurrency;
using Pigeon.Grains.Abstractions.Provisioning;
using Pigeon.Hosting;

namespace Pigeon.Grains.Provisioning;

/// <summary>
/// One provisioning slot, in memory only (<see cref="IProvisioningGrain"/>). Reentrant, so that a put
/// reaches the slot while the new device's take waits on it; every field is touched only on the
/// grain's scheduler. Once expired the activation deactivates, and a later activation of the same id
/// is a slot never opened: not found. A put is safe to repeat (a client whose answer was lost tries
/// again): the same payload again is stored once, before it is taken and, until the slot's expiry,
/// after (only its SHA-256 is kept then).
/// </summary>
[Reentrant]
internal sealed class ProvisioningGrain([FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider time) : Grain, IProvisioningGrain
{
    private DateTimeOffset? _expiresAt;
    private byte[]? _payload;
    private byte[]? _takenDigest;
    private bool _spent;
    private TaskCompletionSource _put = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IGrainTimer? _expiry;

    public Task<ProvisioningSlot> OpenAsync(TimeSpan lifetime)
    {
        if (lifetime <= TimeSpan.Zero)
        {
            throw new ArgumentException("A slot's lifetime must be positive.", nameof(lifetime));
        }

        if (_expiresAt is { } open)
        {
            return Task.FromResult(new ProvisioningSlot(false, open));
        }

        var expiresAt = time.GetUtcNow() + lifetime;
        _expiresAt = expiresAt;
        // The activation goes once the slot has expired, taking the payload with it; a grain's
        // calls keep it alive until then, and the timer does not.
        _expiry = this.RegisterGrainTimer(Forget, new GrainTimerCreationOptions(lifetime, Timeout.InfiniteTimeSpan) { KeepAlive = false, Interleave = true });
        return Task.FromResult(new ProvisioningSlot(true, expiresAt));
    }

    public Task<ProvisioningOutcome> PutAsync(byte[] payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        if (_takenDigest is { } taken && time.GetUtcNow() < _expiresAt && CryptographicOperations.FixedTimeEquals(taken, SHA256.HashData(payload)))
        {
            return Task.FromResult(ProvisioningOutcome.Stored);
        }

        if (!IsOpen())
        {
            return Task.FromResult(ProvisioningOutcome.NotFound);
        }

        if (_payload is not null)
        {
            return Task.FromResult(_payload.AsSpan().SequenceEqual(payload) ? ProvisioningOutcome.Stored : ProvisioningOutcome.Used);
        }

        _payload = payload;
        _put.TrySetResult();
        return Task.FromResult(ProvisioningOutcome.Stored);
    }

    public async Task<ProvisioningTake> TakeAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (!IsOpen())
        {
            return new ProvisioningTake(ProvisioningOutcome.NotFound, null);
        }

        if (_payload is null && wait > TimeSpan.Zero)
        {
            var remaining = _expiresAt!.Value - time.GetUtcNow();
            try
            {
                await _put.Task.WaitAsync(wait < remaining ? wait : remaining, time, cancellationToken);
            }
            catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
            {
            }
        }

        // Another take may have spent it, or the slot expired, while this one waited.
        if (!IsOpen())
        {
            return new ProvisioningTake(ProvisioningOutcome.NotFound, null);
        }

        if (_payload is not { } payload)
        {
            return new ProvisioningTake(ProvisioningOutcome.Empty, null);
        }

        // Spent, but the activation stays until the expiry so that a repeated put of this payload is recognised.
        _takenDigest = SHA256.HashData(payload);
        _payload = null;
        _spent = true;
        return new ProvisioningTake(ProvisioningOutcome.Taken, payload);
    }

    private bool IsOpen()
    {
        if (_spent || _expiresAt is not { } expiresAt)
        {
            return false;
        }

        if (time.GetUtcNow() < expiresAt)
        {
            return true;
        }

        Spend();
        return false;
    }

    private Task Forget(CancellationToken cancellationToken)
    {
        // The timer runs on the real clock and the slot's expiry on Pigeon's; whichever says so first.
        _takenDigest = null;
        Spend();
        return Task.CompletedTask;
    }

    private void Spend()
    {
        _spent = true;
        _payload = null;
        _put.TrySetResult();
        _expiry?.Dispose();
        DeactivateOnIdle();
    }
}
