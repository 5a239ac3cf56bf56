using System.Security.Cryptography;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Primitives;
using Pigeon.Protocol.Storage;

namespace Pigeon.Protocol.Prekeys;

/// <summary>
/// The client's private prekey material: the current signed X25519 prekey and those retired within
/// their grace period, one-time X25519 prekeys, one-time ML-KEM-1024 prekeys and the last-resort
/// ML-KEM-1024 prekey(s). Ids are unique across all kinds. Not thread-safe; persist with
/// <see cref="Serialize"/> after every change (encrypted at rest).
/// </summary>
public sealed class PrekeyStore
{
    /// <summary>Upper bound on stored prekeys of all kinds, so a corrupt or hostile blob cannot exhaust memory.</summary>
    public const int MaxStoredPrekeys = 10_000;

    /// <summary>
    /// Upper bound on remembered session setups (see <see cref="HasAcceptedSetup"/>); beyond it the oldest
    /// is forgotten. Each one cost its sender a full PQXDH on this device and passed the server's limits.
    /// </summary>
    public const int MaxAcceptedSetups = 10_000;

    private static readonly byte[] Magic = "PGPK"u8.ToArray();
    private const byte FormatVersion = 2;

    private readonly List<X25519Entry> _signed = [];
    private readonly Dictionary<uint, X25519Entry> _oneTime = [];
    private readonly Dictionary<uint, MlKemEntry> _mlKemOneTime = [];
    private readonly List<MlKemEntry> _lastResort = [];

    // Base key (hex) of every accepted session setup → the signed prekey it used, oldest first.
    private readonly OrderedDictionary<string, uint> _acceptedSetups = [];
    private uint _nextId = 1;

    /// <summary>The signed X25519 prekey to publish, or null before the first rotation.</summary>
    public SignedPrekey? CurrentSignedPrekey => _signed.Find(e => e.RetiredAt is null)?.ToSignedPrekey();

    /// <summary>The last-resort ML-KEM prekey to publish, or null before the first rotation.</summary>
    public MlKemPrekey? CurrentLastResortMlKemPrekey => _lastResort.Find(e => e.RetiredAt is null)?.ToPublic();

    /// <summary>How many one-time X25519 prekeys are unused.</summary>
    public int OneTimePrekeyCount => _oneTime.Count;

    /// <summary>How many one-time ML-KEM prekeys are unused.</summary>
    public int OneTimeMlKemPrekeyCount => _mlKemOneTime.Count;

    /// <summary>The id the next prekey will get; every prekey made so far has a lower one.</summary>
    public uint NextPrekeyId => _nextId;

    /// <summary>How many accepted session setups are remembered.</summary>
    public int AcceptedSetupCount => _acceptedSetups.Count;

    /// <summary>
    /// True when a session setup with this base key (the initiator's PQXDH ephemeral key) was accepted
    /// before. A setup is remembered as long as the signed prekey it used is kept, which is as long as
    /// such a setup could succeed again, so a replayed first message is always recognised.
    /// </summary>
    public bool HasAcceptedSetup(ReadOnlySpan<byte> baseKey) => _acceptedSetups.ContainsKey(Convert.ToHexString(baseKey));

    /// <summary>How many one-time prekeys of both kinds are marked as handed out and wait to be pruned.</summary>
    public int HandedOutOneTimePrekeyCount => OneTimeEntries.Count(e => e.RetiredAt is not null);

    /// <summary>
    /// Creates a new signed X25519 prekey and retires the current one at <paramref name="now"/>; the
    /// retired one still answers session setups until <see cref="PruneRetired"/> drops it.
    /// </summary>
    public SignedPrekey RotateSignedPrekey(IdentityKeyPair identity, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(identity);
        EnsureRoom(1);
        foreach (var entry in _signed.Where(e => e.RetiredAt is null))
        {
            entry.RetiredAt = now;
        }

        var id = NextId();
        var (privateKey, publicKey) = X25519Dh.Generate();
        var signature = identity.SignPrekey(PrekeyKind.SignedX25519, id, publicKey);
        var created = new X25519Entry(id, privateKey, publicKey, signature, now, null);
        _signed.Add(created);
        return created.ToSignedPrekey();
    }

    /// <summary>Creates a new last-resort ML-KEM prekey and retires the current one at <paramref name="now"/>.</summary>
    public MlKemPrekey RotateLastResortMlKemPrekey(IdentityKeyPair identity, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(identity);
        EnsureRoom(1);
        foreach (var entry in _lastResort.Where(e => e.RetiredAt is null))
        {
            entry.RetiredAt = now;
        }

        var created = NewMlKem(identity, lastResort: true, now);
        _lastResort.Add(created);
        return created.ToPublic();
    }

    /// <summary>Drops retired signed and last-resort prekeys whose grace period has passed.</summary>
    public void PruneRetired(DateTimeOffset now, TimeSpan gracePeriod)
    {
        foreach (var entry in _signed.Where(e => e.RetiredAt + gracePeriod <= now))
        {
            entry.Erase();
        }

        foreach (var entry in _lastResort.Where(e => e.RetiredAt + gracePeriod <= now))
        {
            entry.Erase();
        }

        _signed.RemoveAll(e => e.RetiredAt + gracePeriod <= now);
        _lastResort.RemoveAll(e => e.RetiredAt + gracePeriod <= now);

        // A setup cannot succeed without its signed prekey, so its memory can go with the key.
        foreach (var baseKey in _acceptedSetups.Where(e => FindSignedPrekeyPublic(e.Value) is null).Select(e => e.Key).ToList())
        {
            _acceptedSetups.Remove(baseKey);
        }
    }

    /// <summary>
    /// Marks as handed out, at <paramref name="now"/>, the one-time prekeys the server no longer holds:
    /// its pools hand out their lowest id first, so every id below the lowest one it still holds of a
    /// kind (<paramref name="x25519HeldFrom"/>, <paramref name="mlKemHeldFrom"/>; <see cref="uint.MaxValue"/>
    /// when the pool is empty, 0 when unknown) has left it. Keys at or above that bound lose a mark they
    /// had, since the server may still hold them. Only prekeys with ids below
    /// <paramref name="issuedBefore"/> are considered: read it before asking the server, so that keys
    /// made and uploaded meanwhile are never mistaken for gone. A marked key still answers a session
    /// setup (a first message may be on its way) until <see cref="PruneHandedOut"/> drops it.
    /// Returns how many marks changed.
    /// </summary>
    public int MarkHandedOut(uint x25519HeldFrom, uint mlKemHeldFrom, uint issuedBefore, DateTimeOffset now)
    {
        var changed = 0;
        foreach (var entry in OneTimeEntries.Where(e => e.Id < issuedBefore))
        {
            var gone = entry.Id < (entry is MlKemEntry ? mlKemHeldFrom : x25519HeldFrom);
            if (gone != entry.RetiredAt.HasValue)
            {
                entry.RetiredAt = gone ? now : null;
                changed++;
            }
        }

        return changed;
    }

    /// <summary>
    /// Drops one-time prekeys marked as handed out at least <paramref name="gracePeriod"/> ago, and of
    /// each kind the longest handed out beyond the newest <paramref name="keepPerKind"/>; returns how
    /// many. The count bound is what keeps strangers who fetch bundles from filling the store: a first
    /// message that used a dropped key can no longer be read.
    /// </summary>
    public int PruneHandedOut(DateTimeOffset now, TimeSpan gracePeriod, int keepPerKind = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keepPerKind);
        var handedOut = OneTimeEntries.Where(e => e.RetiredAt is not null).ToList();
        var expired = handedOut
            .Where(e => e.RetiredAt + gracePeriod <= now)
            .Concat(handedOut.GroupBy(e => e is MlKemEntry).SelectMany(kind => kind
                .OrderByDescending(e => e.RetiredAt).ThenByDescending(e => e.Id).Skip(keepPerKind)))
            .Distinct()
            .ToList();
        foreach (var entry in expired)
        {
            entry.Erase();
            // Ids are unique across kinds: the key is in one of the two.
            _oneTime.Remove(entry.Id);
            _mlKemOneTime.Remove(entry.Id);
        }

        return expired.Count;
    }

    /// <summary>Creates <paramref name="count"/> one-time X25519 prekeys; upload the returned public halves.</summary>
    public IReadOnlyList<OneTimePrekey> GenerateOneTimePrekeys(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        EnsureRoom(count);
        var result = new List<OneTimePrekey>(count);
        for (var i = 0; i < count; i++)
        {
            var id = NextId();
            var (privateKey, publicKey) = X25519Dh.Generate();
            _oneTime.Add(id, new X25519Entry(id, privateKey, publicKey, null, DateTimeOffset.UnixEpoch, null));
            result.Add(new OneTimePrekey(id, publicKey));
        }

        return result;
    }

    /// <summary>Creates <paramref name="count"/> signed one-time ML-KEM-1024 prekeys; upload the returned public halves.</summary>
    public IReadOnlyList<MlKemPrekey> GenerateMlKemPrekeys(IdentityKeyPair identity, int count)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        EnsureRoom(count);
        var result = new List<MlKemPrekey>(count);
        for (var i = 0; i < count; i++)
        {
            var entry = NewMlKem(identity, lastResort: false, DateTimeOffset.UnixEpoch);
            _mlKemOneTime.Add(entry.Id, entry);
            result.Add(entry.ToPublic());
        }

        return result;
    }

    internal byte[]? FindSignedPrekeyPrivate(uint id) => _signed.Find(e => e.Id == id)?.PrivateKey;

    internal byte[]? FindSignedPrekeyPublic(uint id) => _signed.Find(e => e.Id == id)?.PublicKey;

    internal byte[]? FindOneTimePrekeyPrivate(uint id) => _oneTime.TryGetValue(id, out var e) ? e.PrivateKey : null;

    internal byte[]? FindMlKemSeed(uint id) =>
        _mlKemOneTime.TryGetValue(id, out var e) ? e.Seed : _lastResort.Find(l => l.Id == id)?.Seed;

    /// <summary>Deletes used one-time private keys (PQXDH §3.4); last-resort and signed keys stay.</summary>
    internal void ConsumeOneTime(uint? oneTimeId, uint mlKemId)
    {
        if (oneTimeId is uint x && _oneTime.Remove(x, out var used))
        {
            used.Erase();
        }

        if (_mlKemOneTime.Remove(mlKemId, out var usedKem))
        {
            usedKem.Erase();
        }
    }

    /// <summary>Remembers an accepted session setup (PQXDH base key and the signed prekey it used).</summary>
    internal void RecordAcceptedSetup(uint signedPrekeyId, ReadOnlySpan<byte> baseKey)
    {
        _acceptedSetups[Convert.ToHexString(baseKey)] = signedPrekeyId;
        while (_acceptedSetups.Count > MaxAcceptedSetups)
        {
            _acceptedSetups.RemoveAt(0);
        }
    }

    /// <summary>Versioned private blob ("PGPK", version 2). Encrypt it at rest.</summary>
    public byte[] Serialize()
    {
        var writer = new BlobWriter(1024 + (_mlKemOneTime.Count * 1700));
        StoredFormat.WriteHeader(writer, Magic, FormatVersion);
        writer.WriteUInt32(_nextId);
        WriteX25519(writer, _signed);
        WriteX25519(writer, _oneTime.Values);
        WriteMlKem(writer, _mlKemOneTime.Values);
        WriteMlKem(writer, _lastResort);
        writer.WriteUInt32((uint)_acceptedSetups.Count);
        foreach (var (baseKey, signedPrekeyId) in _acceptedSetups)
        {
            writer.WriteFixed(Convert.FromHexString(baseKey));
            writer.WriteUInt32(signedPrekeyId);
        }

        return writer.ToArrayAndErase();
    }

    /// <summary>Restores a store from <see cref="Serialize"/>.</summary>
    /// <exception cref="ProtocolException"><see cref="ProtocolError.InvalidState"/> or <see cref="ProtocolError.UnsupportedVersion"/>.</exception>
    public static PrekeyStore Deserialize(ReadOnlySpan<byte> data)
    {
        var reader = new BlobReader(data, ProtocolError.InvalidState);
        StoredFormat.ReadHeader(ref reader, Magic, FormatVersion);
        var store = new PrekeyStore { _nextId = reader.ReadUInt32() };
        store._signed.AddRange(ReadX25519(ref reader, signed: true));
        foreach (var e in ReadX25519(ref reader, signed: false))
        {
            store._oneTime[e.Id] = e;
        }

        foreach (var e in ReadMlKem(ref reader, lastResort: false))
        {
            store._mlKemOneTime[e.Id] = e;
        }

        store._lastResort.AddRange(ReadMlKem(ref reader, lastResort: true));
        var setups = reader.ReadCount(MaxAcceptedSetups);
        for (var i = 0; i < setups; i++)
        {
            if (!store._acceptedSetups.TryAdd(Convert.ToHexString(reader.ReadFixed(X25519Dh.KeySize)), reader.ReadUInt32()))
            {
                throw reader.Fail("duplicate accepted setup");
            }
        }

        reader.EnsureEnd();
        return store;
    }

    private IEnumerable<Entry> OneTimeEntries => _oneTime.Values.Concat<Entry>(_mlKemOneTime.Values);

    private void EnsureRoom(int adding)
    {
        if (_signed.Count + _oneTime.Count + _mlKemOneTime.Count + _lastResort.Count + adding > MaxStoredPrekeys)
        {
            throw new InvalidOperationException($"A prekey store holds at most {MaxStoredPrekeys} prekeys.");
        }
    }

    private uint NextId() => _nextId == uint.MaxValue
        ? throw new InvalidOperationException("Prekey ids are exhausted.")
        : _nextId++;

    private MlKemEntry NewMlKem(IdentityKeyPair identity, bool lastResort, DateTimeOffset now)
    {
        var id = NextId();
        var (seed, publicKey) = MlKem1024.Generate();
        var kind = lastResort ? PrekeyKind.MlKem1024LastResort : PrekeyKind.MlKem1024;
        return new MlKemEntry(id, seed, publicKey, identity.SignPrekey(kind, id, publicKey), lastResort, now, null);
    }

    private static void WriteX25519(BlobWriter writer, ICollection<X25519Entry> entries)
    {
        writer.WriteUInt32((uint)entries.Count);
        foreach (var e in entries)
        {
            writer.WriteUInt32(e.Id);
            writer.WriteFixed(e.PrivateKey);
            writer.WriteFixed(e.PublicKey);
            writer.WriteOptionalFixed(e.Signature);
            writer.WriteInt64(e.CreatedAt.ToUnixTimeMilliseconds());
            writer.WriteBool(e.RetiredAt is not null);
            writer.WriteInt64(e.RetiredAt?.ToUnixTimeMilliseconds() ?? 0);
        }
    }

    private static List<X25519Entry> ReadX25519(ref BlobReader reader, bool signed)
    {
        var count = reader.ReadCount(MaxStoredPrekeys);
        var result = new List<X25519Entry>(count);
        for (var i = 0; i < count; i++)
        {
            var id = reader.ReadUInt32();
            var privateKey = reader.ReadFixedArray(X25519Dh.KeySize);
            var publicKey = reader.ReadFixedArray(X25519Dh.KeySize);
            var signature = reader.ReadOptionalFixed(ProtocolInfo.SignatureSize);
            var created = ReadTime(ref reader);
            var retired = reader.ReadBool() ? ReadTime(ref reader) : SkipTime(ref reader);
            if ((signature is not null) != signed)
            {
                throw reader.Fail("prekey signature presence does not match its kind");
            }

            result.Add(new X25519Entry(id, privateKey, publicKey, signature, created, retired));
        }

        return result;
    }

    private static void WriteMlKem(BlobWriter writer, ICollection<MlKemEntry> entries)
    {
        writer.WriteUInt32((uint)entries.Count);
        foreach (var e in entries)
        {
            writer.WriteUInt32(e.Id);
            writer.WriteFixed(e.Seed);
            writer.WriteFixed(e.PublicKey);
            writer.WriteFixed(e.Signature);
            writer.WriteInt64(e.CreatedAt.ToUnixTimeMilliseconds());
            writer.WriteBool(e.RetiredAt is not null);
            writer.WriteInt64(e.RetiredAt?.ToUnixTimeMilliseconds() ?? 0);
        }
    }

    private static List<MlKemEntry> ReadMlKem(ref BlobReader reader, bool lastResort)
    {
        var count = reader.ReadCount(MaxStoredPrekeys);
        var result = new List<MlKemEntry>(count);
        for (var i = 0; i < count; i++)
        {
            var id = reader.ReadUInt32();
            var seed = reader.ReadFixedArray(MlKem1024.SeedSize);
            var publicKey = reader.ReadFixedArray(MlKem1024.PublicKeySize);
            var signature = reader.ReadFixedArray(ProtocolInfo.SignatureSize);
            var created = ReadTime(ref reader);
            var retired = reader.ReadBool() ? ReadTime(ref reader) : SkipTime(ref reader);
            result.Add(new MlKemEntry(id, seed, publicKey, signature, lastResort, created, retired));
        }

        return result;
    }

    private static DateTimeOffset ReadTime(ref BlobReader reader)
    {
        var ms = reader.ReadInt64();
        if (ms < 0 || ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            throw reader.Fail("timestamp out of range");
        }

        return DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }

    private static DateTimeOffset? SkipTime(ref BlobReader reader)
    {
        reader.ReadInt64();
        return null;
    }

    // RetiredAt: when a signed or last-resort key was replaced, or when a one-time key left the server.
    private abstract class Entry(uint id, DateTimeOffset createdAt, DateTimeOffset? retiredAt)
    {
        public uint Id { get; } = id;
        public DateTimeOffset CreatedAt { get; } = createdAt;
        public DateTimeOffset? RetiredAt { get; set; } = retiredAt;

        public abstract void Erase();
    }

    private sealed class X25519Entry(uint id, byte[] privateKey, byte[] publicKey, byte[]? signature, DateTimeOffset createdAt, DateTimeOffset? retiredAt)
        : Entry(id, createdAt, retiredAt)
    {
        public byte[] PrivateKey { get; } = privateKey;
        public byte[] PublicKey { get; } = publicKey;
        public byte[]? Signature { get; } = signature;

        public SignedPrekey ToSignedPrekey() => new(Id, PublicKey, Signature ?? []);

        public override void Erase() => CryptographicOperations.ZeroMemory(PrivateKey);
    }

    private sealed class MlKemEntry(uint id, byte[] seed, byte[] publicKey, byte[] signature, bool isLastResort, DateTimeOffset createdAt, DateTimeOffset? retiredAt)
        : Entry(id, createdAt, retiredAt)
    {
        public byte[] Seed { get; } = seed;
        public byte[] PublicKey { get; } = publicKey;
        public byte[] Signature { get; } = signature;
        public bool IsLastResort { get; } = isLastResort;

        public MlKemPrekey ToPublic() => new(Id, PublicKey, Signature, IsLastResort);

        public override void Erase() => CryptographicOperations.ZeroMemory(Seed);
    }
}
