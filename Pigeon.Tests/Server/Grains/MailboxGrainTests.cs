using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using Npgsql;
using Orleans.Core.Internal;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Grains.Mailboxes;

namespace Pigeon.Tests.Grains;

[Collection(PigeonClusterCollection.Name)]
public sealed class MailboxGrainTests(PigeonClusterFixture fixture)
{
    private static readonly TimeSpan NoWait = TimeSpan.Zero;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IMailboxGrain NewMailbox()
    {
        fixture.RequirePostgres();
        return fixture.Grains.GetGrain<IMailboxGrain>($"mailbox-{Guid.NewGuid():N}");
    }

    private static byte[] RandomPayload(int size = 64) => RandomNumberGenerator.GetBytes(size);

    [Fact]
    public async Task Mailbox_DepositReceiveAck_DeliversOnceThenNothing()
    {
        var mailbox = NewMailbox();
        var messageId = Guid.NewGuid();
        var payload = RandomPayload();

        var receipt = await mailbox.DepositAsync(messageId, payload);
        var received = await mailbox.ReceiveAsync(0, 10, NoWait, Ct);

        var envelope = Assert.Single(received.Envelopes);
        Assert.Equal(messageId, envelope.MessageId);
        Assert.Equal(payload, envelope.Payload);
        Assert.Equal(receipt.Sequence, envelope.Sequence);
        Assert.False(received.HasMore);

        Assert.Equal(1, await mailbox.AckAsync([messageId]));
        Assert.Empty((await mailbox.ReceiveAsync(0, 10, NoWait, Ct)).Envelopes);
        Assert.Equal(0, (await mailbox.GetStatusAsync()).Envelopes);
    }

    [Fact]
    public async Task Mailbox_Purge_DeletesEveryEnvelopeAndAcknowledgedId_AndEndsAWaitingReceive()
    {
        var mailbox = NewMailbox();
        var kept = Guid.NewGuid();
        var acknowledged = Guid.NewGuid();
        await mailbox.DepositAsync(kept, RandomPayload());
        await mailbox.DepositAsync(acknowledged, RandomPayload());
        await mailbox.AckAsync([acknowledged]);
        var waiting = mailbox.ReceiveAsync(long.MaxValue - 1, 10, TimeSpan.FromSeconds(20), Ct);

        var purged = await mailbox.PurgeAsync();

        Assert.Equal(1, purged);
        Assert.Empty((await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct)).Envelopes);
        Assert.Equal(0, (await mailbox.GetStatusAsync()).Envelopes);
        Assert.Empty((await mailbox.ReceiveAsync(0, 10, NoWait, Ct)).Envelopes);
        // The acknowledged id is forgotten too: nothing of the mailbox stays in either table.
        await using var command = fixture.DataSource.CreateCommand(
            "SELECT (SELECT count(*) FROM pigeon.envelopes WHERE mailbox_id = @id) + (SELECT count(*) FROM pigeon.acknowledged_envelopes WHERE mailbox_id = @id)");
        command.Parameters.AddWithValue("id", mailbox.GetPrimaryKeyString());
        Assert.Equal(0L, await command.ExecuteScalarAsync(Ct));
    }

    [Fact]
    public async Task Mailbox_UnacknowledgedEnvelope_IsDeliveredAgain()
    {
        var mailbox = NewMailbox();
        var messageId = Guid.NewGuid();
        await mailbox.DepositAsync(messageId, RandomPayload());

        var first = await mailbox.ReceiveAsync(0, 10, NoWait, Ct);
        var second = await mailbox.ReceiveAsync(0, 10, NoWait, Ct);

        Assert.Equal(messageId, Assert.Single(first.Envelopes).MessageId);
        Assert.Equal(messageId, Assert.Single(second.Envelopes).MessageId);
    }

    [Fact]
    public async Task Mailbox_RepeatedDeposit_StoresNothingNewAndReturnsFirstReceipt()
    {
        var mailbox = NewMailbox();
        var messageId = Guid.NewGuid();
        var payload = RandomPayload();

        var first = await mailbox.DepositAsync(messageId, payload);
        var again = await mailbox.DepositAsync(messageId, RandomPayload());
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => mailbox.DepositAsync(messageId, payload)));

        Assert.Equal(first, again);
        Assert.All(concurrent, receipt => Assert.Equal(first, receipt));
        var envelope = Assert.Single((await mailbox.ReceiveAsync(0, 10, NoWait, Ct)).Envelopes);
        Assert.Equal(payload, envelope.Payload);
        Assert.Equal(1, (await mailbox.GetStatusAsync()).Envelopes);
    }

    [Fact]
    public async Task Mailbox_DepositRetriedAfterAcknowledgement_IsNotDeliveredAgain()
    {
        var mailbox = NewMailbox();
        var messageId = Guid.NewGuid();
        var first = await mailbox.DepositAsync(messageId, RandomPayload());
        await mailbox.AckAsync([messageId]);

        var retry = await mailbox.DepositAsync(messageId, RandomPayload());

        Assert.Equal(first, retry);
        Assert.Empty((await mailbox.ReceiveAsync(0, 10, NoWait, Ct)).Envelopes);
    }

    [Fact]
    public async Task Mailbox_Envelopes_AreReceivedInDepositOrderAndPageByCursor()
    {
        var mailbox = NewMailbox();
        var ids = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in ids)
        {
            await mailbox.DepositAsync(id, RandomPayload());
        }

        var firstPage = await mailbox.ReceiveAsync(0, 8, NoWait, Ct);
        var secondPage = await mailbox.ReceiveAsync(firstPage.Envelopes[^1].Sequence, 100, NoWait, Ct);

        Assert.True(firstPage.HasMore);
        Assert.False(secondPage.HasMore);
        var received = firstPage.Envelopes.Concat(secondPage.Envelopes).ToList();
        Assert.Equal(ids, received.Select(e => e.MessageId));
        Assert.True(received.Zip(received.Skip(1)).All(pair => pair.First.Sequence < pair.Second.Sequence));
    }

    [Fact]
    public async Task Mailbox_ConcurrentDeposits_AreAllStoredInFewerTransactions()
    {
        fixture.RequirePostgres();
        var mailboxes = Enumerable.Range(0, 10).Select(_ => NewMailbox()).ToList();
        using var commits = new CommitCounter(fixture.SiloService<IMeterFactory>());

        var deposits = mailboxes.SelectMany(mailbox => Enumerable.Range(0, 20).Select(_ => mailbox.DepositAsync(Guid.NewGuid(), RandomPayload())));
        var receipts = await Task.WhenAll(deposits);

        Assert.Equal(200, receipts.Select(r => r.MessageId).Distinct().Count());
        foreach (var mailbox in mailboxes)
        {
            Assert.Equal(20, (await mailbox.GetStatusAsync()).Envelopes);
        }

        // Group commit: 200 deposits issued at once share transactions.
        Assert.InRange(commits.Commits, 1, 100);
    }

    [Fact]
    public async Task Mailbox_ConcurrentAcknowledgements_AreAppliedInFewerTransactions()
    {
        fixture.RequirePostgres();
        var mailboxes = Enumerable.Range(0, 40).Select(_ => NewMailbox()).ToList();
        var deposited = await Task.WhenAll(mailboxes.Select(m => m.DepositAsync(Guid.NewGuid(), RandomPayload())));
        using var commits = new CommitCounter(fixture.SiloService<IMeterFactory>());

        var acknowledged = await Task.WhenAll(mailboxes.Zip(deposited, (m, r) => m.AckAsync([r.MessageId, Guid.NewGuid()])));

        Assert.All(acknowledged, count => Assert.Equal(1, count));
        Assert.InRange(commits.Commits, 1, 39);
        foreach (var (mailbox, receipt) in mailboxes.Zip(deposited))
        {
            Assert.Equal(0, (await mailbox.GetStatusAsync()).Envelopes);
            Assert.Equal(0L, await CountRowsAsync("pigeon.envelopes", receipt.MessageId));
            Assert.Equal(1L, await CountRowsAsync("pigeon.acknowledged_envelopes", receipt.MessageId));
        }
    }

    [Fact]
    public async Task Mailbox_AckAndReceive_AcknowledgesThenReturnsWhatFollows()
    {
        var mailbox = NewMailbox();
        var first = await mailbox.DepositAsync(Guid.NewGuid(), RandomPayload());
        var second = await mailbox.DepositAsync(Guid.NewGuid(), RandomPayload());

        var result = await mailbox.AckAndReceiveAsync([first.MessageId], first.Sequence, 10, NoWait, Ct);

        Assert.Equal(1, result.Acknowledged);
        Assert.Equal(second.MessageId, Assert.Single(result.Envelopes).MessageId);
        Assert.Equal(second.MessageId, Assert.Single((await mailbox.ReceiveAsync(0, 10, NoWait, Ct)).Envelopes).MessageId);
        Assert.Equal(1, (await mailbox.GetStatusAsync()).Envelopes);
    }

    [Fact]
    public async Task Mailbox_MoreEnvelopesThanHeldInMemory_AreAllReceivedInOrderByCursor()
    {
        var mailbox = NewMailbox();
        var ids = Enumerable.Range(0, PigeonClusterFixture.RecentEnvelopesHeld * 2 + 5).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in ids)
        {
            await mailbox.DepositAsync(id, RandomPayload());
        }

        // Pages that start below what the grain holds come from the table, the rest from memory.
        var received = new List<Envelope>();
        var cursor = 0L;
        while (true)
        {
            var page = await mailbox.ReceiveAsync(cursor, 7, NoWait, Ct);
            received.AddRange(page.Envelopes);
            if (page.Envelopes.Count == 0)
            {
                break;
            }

            cursor = page.Envelopes[^1].Sequence;
        }

        Assert.Equal(ids, received.Select(e => e.MessageId));
    }

    [Fact]
    public async Task Mailbox_DepositsCommittingWhileARecipientFollows_AreEachReceivedOnceInOrder()
    {
        var mailbox = NewMailbox();
        var sent = new List<Guid>();
        var received = new List<Envelope>();
        for (var round = 0; round < 5; round++)
        {
            var ids = Enumerable.Range(0, 30).Select(_ => Guid.NewGuid()).ToList();
            sent.AddRange(ids);
            var deposits = Task.WhenAll(ids.Select(id => mailbox.DepositAsync(id, RandomPayload())));
            var cursor = received.Count > 0 ? received[^1].Sequence : 0;
            var acked = new List<Guid>();
            // A follower that acknowledges on its next poll, racing the commits: no envelope may be
            // skipped by its cursor.
            while (received.Count < sent.Count)
            {
                var page = await mailbox.AckAndReceiveAsync(acked, cursor, 4, TimeSpan.FromSeconds(5), Ct);
                received.AddRange(page.Envelopes);
                acked = [.. page.Envelopes.Select(e => e.MessageId)];
                cursor = page.Envelopes.Count > 0 ? page.Envelopes[^1].Sequence : cursor;
                Assert.NotEmpty(page.Envelopes);
            }

            await deposits;
            await mailbox.AckAsync(acked);
        }

        Assert.Equal(sent.Order(), received.Select(e => e.MessageId).Order());
        Assert.True(received.Zip(received.Skip(1)).All(pair => pair.First.Sequence < pair.Second.Sequence));
        Assert.Equal(0, (await mailbox.GetStatusAsync()).Envelopes);
    }

    [Fact]
    public async Task Mailbox_WaitingReceive_WakesWhenDepositArrives()
    {
        var mailbox = NewMailbox();
        var waiting = mailbox.ReceiveAsync(0, 10, TimeSpan.FromSeconds(20), Ct);
        await WaitUntilReceivesAreWaitingAsync(mailbox, 1);
        Assert.False(waiting.IsCompleted);

        var messageId = Guid.NewGuid();
        await mailbox.DepositAsync(messageId, RandomPayload());

        // The fake clock never moved, so only the deposit can have ended the wait.
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(messageId, Assert.Single(result.Envelopes).MessageId);
    }

    [Fact]
    public async Task Mailbox_ReceiveWithNothingPending_ReturnsEmptyWhenTheWaitEnds()
    {
        var mailbox = NewMailbox();
        var waiting = mailbox.ReceiveAsync(0, 10, TimeSpan.FromSeconds(5), Ct);
        await WaitUntilReceivesAreWaitingAsync(mailbox, 1);

        fixture.Clock.Advance(TimeSpan.FromSeconds(4));
        Assert.False(waiting.IsCompleted);
        fixture.Clock.Advance(TimeSpan.FromSeconds(1));

        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Empty(result.Envelopes);
        Assert.False(result.HasMore);
    }

    [Fact]
    public async Task Mailbox_WaitingReceive_IsCancelledByItsToken()
    {
        var mailbox = NewMailbox();
        using var cancellation = new CancellationTokenSource();
        var waiting = mailbox.ReceiveAsync(0, 10, TimeSpan.FromSeconds(20), cancellation.Token);
        await WaitUntilReceivesAreWaitingAsync(mailbox, 1);

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        await WaitUntilReceivesAreWaitingAsync(mailbox, 0);
    }

    [Fact]
    public async Task Mailbox_WaitingReceive_EndsEmptyWhenItsActivationDeactivates()
    {
        var mailbox = NewMailbox();
        var waiting = mailbox.ReceiveAsync(0, 10, TimeSpan.FromSeconds(20), Ct);
        await WaitUntilReceivesAreWaitingAsync(mailbox, 1);

        // As the surviving silo does to the mailboxes whose directory entries a dead silo held.
        var management = mailbox.AsReference<IGrainManagementExtension>();
        var deactivation = management.DeactivateOnIdle(TestContext.Current.CancellationToken);
        await deactivation.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        // The fake clock never moved: only the deactivation can have ended the wait, which used to
        // hold the deactivation, and every call to the mailbox, for the rest of its 20 s.
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Empty(result.Envelopes);
        var messageId = Guid.NewGuid();
        await mailbox.DepositAsync(messageId, RandomPayload()).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var next = await mailbox.ReceiveAsync(0, 10, TimeSpan.Zero, Ct);
        Assert.Equal(messageId, Assert.Single(next.Envelopes).MessageId);
    }

    [Fact]
    public async Task Mailbox_DepositPastEnvelopeQuota_IsRefusedWithTypedError()
    {
        var mailbox = NewMailbox();
        for (var i = 0; i < PigeonClusterFixture.MaxEnvelopes; i++)
        {
            await mailbox.DepositAsync(Guid.NewGuid(), RandomPayload(16));
        }

        var refused = await Assert.ThrowsAsync<MailboxQuotaExceededException>(() => mailbox.DepositAsync(Guid.NewGuid(), RandomPayload(16)));

        Assert.Equal(PigeonClusterFixture.MaxEnvelopes, refused.MaxEnvelopes);
        Assert.Equal(PigeonClusterFixture.MaxEnvelopes, (await mailbox.GetStatusAsync()).Envelopes);
        var all = await mailbox.ReceiveAsync(0, 500, NoWait, Ct);
        Assert.Equal(PigeonClusterFixture.MaxEnvelopes, all.Envelopes.Count);

        // Acknowledging makes room again.
        await mailbox.AckAsync([all.Envelopes[0].MessageId]);
        await mailbox.DepositAsync(Guid.NewGuid(), RandomPayload(16));
    }

    [Fact]
    public async Task Mailbox_DepositPastByteQuota_IsRefusedWithTypedError()
    {
        var mailbox = NewMailbox();
        const int Size = 64 * 1024;
        for (var i = 0; i < PigeonClusterFixture.MaxBytes / Size; i++)
        {
            await mailbox.DepositAsync(Guid.NewGuid(), RandomPayload(Size));
        }

        await Assert.ThrowsAsync<MailboxQuotaExceededException>(() => mailbox.DepositAsync(Guid.NewGuid(), RandomPayload(1)));
        Assert.Equal(PigeonClusterFixture.MaxBytes, (await mailbox.GetStatusAsync()).Bytes);
    }

    [Fact]
    public async Task Mailbox_PayloadLargerThanLimit_IsRefused()
    {
        var mailbox = NewMailbox();

        await Assert.ThrowsAsync<ArgumentException>(() => mailbox.DepositAsync(Guid.NewGuid(), RandomPayload((64 * 1024) + 1)));

        Assert.Equal(0, (await mailbox.GetStatusAsync()).Envelopes);
    }

    [Fact]
    public async Task Mailbox_UnacknowledgedEnvelope_ExpiresAfterTtlAndIsSwept()
    {
        var mailbox = NewMailbox();
        var messageId = Guid.NewGuid();
        await mailbox.DepositAsync(messageId, RandomPayload());

        fixture.Clock.Advance(PigeonClusterFixture.EnvelopeTtl - TimeSpan.FromMinutes(1));
        Assert.Single((await mailbox.ReceiveAsync(0, 10, NoWait, Ct)).Envelopes);

        fixture.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Empty((await mailbox.ReceiveAsync(0, 10, NoWait, Ct)).Envelopes);

        await fixture.SiloService<ExpiredEnvelopeSweeper>().SweepOnceAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0L, await CountRowsAsync("pigeon.envelopes", messageId));
    }

    [Fact]
    public async Task Mailbox_EnvelopeWithAShorterLifetime_ExpiresThen_ALongerOneIsCappedAtTheTtl()
    {
        var mailbox = NewMailbox();
        Guid shortLived = Guid.NewGuid(), capped = Guid.NewGuid(), plain = Guid.NewGuid();
        await mailbox.DepositAsync(shortLived, RandomPayload(), TimeSpan.FromHours(1));
        await mailbox.DepositAsync(capped, RandomPayload(), PigeonClusterFixture.EnvelopeTtl * 2);
        await mailbox.DepositAsync(plain, RandomPayload());
        await Assert.ThrowsAsync<ArgumentException>(() => mailbox.DepositAsync(Guid.NewGuid(), RandomPayload(), TimeSpan.Zero));

        var lifetimes = new Dictionary<Guid, TimeSpan>();
        await using (var command = fixture.DataSource.CreateCommand(
            "SELECT message_id, expires_at - deposited_at FROM pigeon.envelopes WHERE message_id = ANY(@ids)"))
        {
            command.Parameters.Add(new NpgsqlParameter<Guid[]>("ids", [shortLived, capped, plain]));
            await using var reader = await command.ExecuteReaderAsync(Ct);
            while (await reader.ReadAsync(Ct))
            {
                lifetimes[reader.GetGuid(0)] = reader.GetFieldValue<TimeSpan>(1);
            }
        }

        fixture.Clock.Advance(TimeSpan.FromHours(1));
        var left = (await mailbox.ReceiveAsync(0, 10, NoWait, Ct)).Envelopes.Select(e => e.MessageId).ToList();

        Assert.Equal(TimeSpan.FromHours(1), lifetimes[shortLived]);
        Assert.Equal(PigeonClusterFixture.EnvelopeTtl, lifetimes[capped]);
        Assert.Equal(PigeonClusterFixture.EnvelopeTtl, lifetimes[plain]);
        Assert.Equal([capped, plain], left);
    }

    [Fact]
    public async Task Mailbox_StoredRow_HoldsOnlyTheDepositedBytesAndIsGoneAfterAck()
    {
        var mailbox = NewMailbox();
        var messageId = Guid.NewGuid();
        var payload = RandomPayload(300);
        await mailbox.DepositAsync(messageId, payload);

        await using (var command = fixture.DataSource.CreateCommand(
            "SELECT payload, size_bytes FROM pigeon.envelopes WHERE message_id = @id"))
        {
            command.Parameters.Add(new NpgsqlParameter<Guid>("id", messageId));
            await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
            Assert.True(await reader.ReadAsync(TestContext.Current.CancellationToken));
            Assert.Equal(payload, reader.GetFieldValue<byte[]>(0));
            Assert.Equal(payload.Length, reader.GetInt32(1));
        }

        await mailbox.AckAsync([messageId]);

        Assert.Equal(0L, await CountRowsAsync("pigeon.envelopes", messageId));
    }

    [Fact]
    public async Task Mailbox_AcknowledgingTooManyIdsAtOnce_IsRefused()
    {
        var mailbox = NewMailbox();

        await Assert.ThrowsAsync<ArgumentException>(() => mailbox.AckAsync([.. Enumerable.Range(0, 1001).Select(_ => Guid.NewGuid())]));
    }

    private async Task<long> CountRowsAsync(string table, Guid messageId)
    {
        await using var command = fixture.DataSource.CreateCommand($"SELECT count(*) FROM {table} WHERE message_id = @id");
        command.Parameters.Add(new NpgsqlParameter<Guid>("id", messageId));
        return (long)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }

    private static async Task WaitUntilReceivesAreWaitingAsync(IMailboxGrain mailbox, int count)
    {
        // Polls the grain's own count of waiting receives: the wait has begun once the grain says so.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while ((await mailbox.GetStatusAsync()).WaitingReceives != count)
        {
            timeout.Token.ThrowIfCancellationRequested();
            await Task.Yield();
        }
    }

    [Fact]
    public async Task Mailbox_IdentifiedSender_LeavesAtMostItsBound_UntilTheRecipientAcknowledges()
    {
        var mailbox = NewMailbox();
        var limit = PigeonClusterFixture.MaxPendingPerIdentifiedSender;
        var ids = Enumerable.Range(0, limit).Select(_ => Guid.NewGuid()).ToList();
        await Task.WhenAll(ids.Select(id => mailbox.DepositFromAsync("stranger", id, [1])));

        var refused = await Assert.ThrowsAsync<SenderPendingLimitException>(() => mailbox.DepositFromAsync("stranger", Guid.NewGuid(), [2]));
        Assert.Equal(limit, refused.Limit);
        // A retry of a stored one is still answered; others, and sealed deposits, are not affected.
        Assert.Equal(ids[0], (await mailbox.DepositFromAsync("stranger", ids[0], [1])).MessageId);
        await mailbox.DepositFromAsync("friend", Guid.NewGuid(), [3]);
        await mailbox.DepositAsync(Guid.NewGuid(), [4]);
        Assert.Equal(limit + 2, (await mailbox.ReceiveAsync(0, 100, TimeSpan.Zero, TestContext.Current.CancellationToken)).Envelopes.Count);

        await mailbox.AckAsync([ids[1]]);
        await mailbox.DepositFromAsync("stranger", Guid.NewGuid(), [5]);
        await Assert.ThrowsAsync<SenderPendingLimitException>(() => mailbox.DepositFromAsync("stranger", Guid.NewGuid(), [6]));
    }

    [Fact]
    public async Task Mailbox_IdentifiedDepositsRacingPastTheBound_StoreNoMoreThanIt()
    {
        var mailbox = NewMailbox();
        var limit = PigeonClusterFixture.MaxPendingPerIdentifiedSender;

        var outcomes = await Task.WhenAll(Enumerable.Range(0, limit * 3).Select(async i =>
        {
            try
            {
                await mailbox.DepositFromAsync("stranger", Guid.NewGuid(), [(byte)i]);
                return true;
            }
            catch (SenderPendingLimitException)
            {
                return false;
            }
        }));

        Assert.Equal(limit, outcomes.Count(stored => stored));
        Assert.Equal(limit, (await mailbox.ReceiveAsync(0, 100, TimeSpan.Zero, TestContext.Current.CancellationToken)).Envelopes.Count);
    }
}
