namespace Pigeon.Bench.Stats;

/// <summary>
/// The open-loop plan, in three stages: the rate rises linearly from 0 to <see cref="Rate"/> during
/// the ramp-up, holds for the steady stage and falls linearly back to 0 during the ramp-down.
/// Message <c>i</c> is due when the offered count reaches <c>i</c> (at <c>i / rate</c> seconds with
/// no ramps), whatever happened to the messages before it. Latency is measured from the due time,
/// so a server that slows down cannot slow the offered load (no coordinated omission).
/// </summary>
public sealed class OpenLoopSchedule
{
    private readonly double _rampUpSeconds;
    private readonly double _steadySeconds;
    private readonly double _rampDownSeconds;
    private readonly double _rampUpMessages;
    private readonly double _steadyMessages;

    /// <summary>A schedule of <paramref name="rate"/> messages per second for <paramref name="duration"/>, without ramps.</summary>
    public OpenLoopSchedule(double rate, TimeSpan duration)
        : this(rate, TimeSpan.Zero, duration, TimeSpan.Zero)
    {
    }

    /// <summary>
    /// A schedule that ramps up to <paramref name="rate"/> over <paramref name="rampUp"/>, holds it for
    /// <paramref name="steady"/> and ramps down to 0 over <paramref name="rampDown"/>.
    /// </summary>
    public OpenLoopSchedule(double rate, TimeSpan rampUp, TimeSpan steady, TimeSpan rampDown)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        ArgumentOutOfRangeException.ThrowIfLessThan(rampUp, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(steady, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(rampDown, TimeSpan.Zero);
        Rate = rate;
        RampUp = rampUp;
        Steady = steady;
        RampDown = rampDown;
        (_rampUpSeconds, _steadySeconds, _rampDownSeconds) = (rampUp.TotalSeconds, steady.TotalSeconds, rampDown.TotalSeconds);
        // The offered count is the integral of the rate: a ramp offers half of what a steady stage
        // of the same length does.
        _rampUpMessages = rate * _rampUpSeconds / 2;
        _steadyMessages = rate * _steadySeconds;
        // Messages due strictly before the end: 0, 1, ... up to the count offered by then.
        Total = (long)Math.Ceiling(Math.Round(_rampUpMessages + _steadyMessages + rate * _rampDownSeconds / 2, 9));
    }

    /// <summary>Messages per second in the steady stage.</summary>
    public double Rate { get; }

    /// <summary>How long the rate takes to rise from 0 to <see cref="Rate"/>.</summary>
    public TimeSpan RampUp { get; }

    /// <summary>How long the rate holds at <see cref="Rate"/>.</summary>
    public TimeSpan Steady { get; }

    /// <summary>How long the rate takes to fall back to 0.</summary>
    public TimeSpan RampDown { get; }

    /// <summary>How long the schedule lasts.</summary>
    public TimeSpan Duration => RampUp + Steady + RampDown;

    /// <summary>How many messages the schedule holds.</summary>
    public long Total { get; }

    /// <summary>When message <paramref name="index"/> is due, after the start.</summary>
    public TimeSpan DueAt(long index)
    {
        if (index < _rampUpMessages)
        {
            // count(t) = rate t² / (2 rampUp)
            return Seconds(Math.Sqrt(2 * _rampUpSeconds * index / Rate));
        }

        var intoSteady = index - _rampUpMessages;
        if (intoSteady < _steadyMessages || _rampDownSeconds == 0)
        {
            return RampUp + TimeSpan.FromTicks((long)Math.Round(intoSteady * (TimeSpan.TicksPerSecond / Rate)));
        }

        // count(τ) = rate (τ − τ² / (2 rampDown)) after the steady stage; the smaller root.
        var intoRampDown = intoSteady - _steadyMessages;
        var root = Math.Sqrt(Math.Max(0, 1 - 2 * intoRampDown / (Rate * _rampDownSeconds)));
        return RampUp + Steady + Seconds(_rampDownSeconds * (1 - root));
    }

    /// <summary>How many messages are due by <paramref name="elapsed"/> (those with a due time at or before it).</summary>
    public long DueBy(TimeSpan elapsed)
    {
        if (elapsed < TimeSpan.Zero)
        {
            return 0;
        }

        var count = Math.Min((long)Math.Floor(OfferedBy(elapsed.TotalSeconds)) + 1, Total);
        // Rounding in DueAt may put a boundary message one tick either side; trust DueAt.
        while (count > 0 && DueAt(count - 1) > elapsed)
        {
            count--;
        }

        while (count < Total && DueAt(count) <= elapsed)
        {
            count++;
        }

        return count;
    }

    // The count offered by t seconds: the integral of the rate from the start.
    private double OfferedBy(double t)
    {
        if (t < _rampUpSeconds)
        {
            return Rate * t * t / (2 * _rampUpSeconds);
        }

        t -= _rampUpSeconds;
        if (t < _steadySeconds || _rampDownSeconds == 0)
        {
            return _rampUpMessages + Rate * t;
        }

        t = Math.Min(t - _steadySeconds, _rampDownSeconds);
        return _rampUpMessages + _steadyMessages + Rate * (t - t * t / (2 * _rampDownSeconds));
    }

    private static TimeSpan Seconds(double seconds) => TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));
}
