using Pigeon.Bench.Stats;

namespace Pigeon.Tests.Bench;

public sealed class DeliveryLedgerTests
{
    [Fact]
    public void Ledger_CountsLostDuplicateUnexpectedAndFailedMessagesById()
    {
        var ledger = new DeliveryLedger();
        var ids = Enumerable.Range(0, 6).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in ids)
        {
            ledger.Sent(id, sentAt: 100);
        }

        foreach (var id in ids[..4])
        {
            ledger.Committed(id);
        }

        ledger.Received(ids[0], 150);
        ledger.Received(ids[0], 160); // duplicate
        ledger.Received(ids[1], 170);
        // ids[2] and ids[3] committed, never received: lost.
        ledger.Failed(ids[4]);        // failed, never received: not lost
        ledger.Failed(ids[5]);
        ledger.Received(ids[5], 180); // committed after all, its answer lost
        ledger.Received(Guid.NewGuid(), 190);

        Assert.Equal(new DeliveryCounts(Sent: 6, Delivered: 3, Lost: 2, Duplicates: 1, Unexpected: 1, FailedDeposits: 2, DeliveredAfterFailure: 1),
            ledger.Count());
        Assert.Equal(2, ledger.Outstanding);
    }

    [Fact]
    public void Received_BeforeTheDepositIsAnswered_StillCountsOnceAndIsNotLost()
    {
        var ledger = new DeliveryLedger();
        var id = Guid.NewGuid();
        ledger.Sent(id, 0);
        Assert.Equal(42, ledger.Received(id, 42));
        ledger.Committed(id);
        Assert.Equal(new DeliveryCounts(1, 1, 0, 0, 0, 0, 0), ledger.Count());
    }

    [Fact]
    public void Received_ReturnsLatencyOnlyForTheFirstReceiptOfAMeasuredMessage()
    {
        var ledger = new DeliveryLedger();
        Guid measured = Guid.NewGuid(), warmup = Guid.NewGuid();
        ledger.Sent(measured, 1_000);
        ledger.Sent(warmup, 1_000, measured: false);
        Assert.Equal(500, ledger.Received(measured, 1_500));
        Assert.Null(ledger.Received(measured, 1_600));
        Assert.Null(ledger.Received(warmup, 1_500));
    }

    [Fact]
    public async Task SentAndAwaited_CompletesWhenTheMessageArrivesOrItsDepositFails()
    {
        var ledger = new DeliveryLedger();
        Guid arrives = Guid.NewGuid(), fails = Guid.NewGuid();
        var arrival = ledger.SentAndAwaited(arrives, 0);
        var failure = ledger.SentAndAwaited(fails, 0);
        Assert.False(arrival.IsCompleted);
        ledger.Received(arrives, 10);
        ledger.Failed(fails);
        await Task.WhenAll(arrival, failure).WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
    }

    [Fact]
    public void Sent_TwiceWithOneId_IsRefused()
    {
        var ledger = new DeliveryLedger();
        var id = Guid.NewGuid();
        ledger.Sent(id, 0);
        Assert.Throws<InvalidOperationException>(() => ledger.Sent(id, 0));
    }
}
