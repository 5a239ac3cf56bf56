using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Pigeon.Client.Cli;
using Pigeon.Protocol;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Storage;

namespace Pigeon.Client.Store;

/// <summary>
/// One profile's SQLite database (<c>pigeon.db</c>, mode 0600, in a 0700 folder): identity, prekeys,
/// sessions, contacts, requests, history, processed message ids and the outbox. The schema version is
/// <c>PRAGMA user_version</c>; <see cref="Migrations"/> bring older files up to date. Private keys,
/// session state and message text go through <see cref="StoreCipher"/>.
/// </summary>
internal sealed class ProfileStore : IDisposable
{
    /// <summary>The database file's name inside the profile folder.</summary>
    public const string FileName = "pigeon.db";

    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Schema migrations; entry i takes the file from version i to i + 1.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE profile (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            account_id TEXT NOT NULL,
            server TEXT NOT NULL,
            display_name TEXT NOT NULL,
            public_identity BLOB NOT NULL,
            identity_sealed BLOB NOT NULL,
            kdf_salt BLOB,
            kdf_memory_kib INTEGER,
            kdf_iterations INTEGER,
            key_check BLOB,
            signed_prekey_rotated_at INTEGER NOT NULL,
            created_at INTEGER NOT NULL);
        CREATE TABLE prekeys (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            store_sealed BLOB NOT NULL);
        CREATE TABLE contacts (
            account_id TEXT PRIMARY KEY,
            display_name TEXT NOT NULL,
            public_identity BLOB NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('invited', 'accepted')),
            verified INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            last_message_at INTEGER);
        CREATE TABLE sessions (
            account_id TEXT PRIMARY KEY,
            base_key BLOB NOT NULL,
            state_sealed BLOB NOT NULL,
            updated_at INTEGER NOT NULL);
        CREATE TABLE requests (
            account_id TEXT PRIMARY KEY,
            display_name TEXT NOT NULL,
            public_identity BLOB NOT NULL,
            message_sealed BLOB,
            received_at INTEGER NOT NULL);
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            contact_id TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
            kind TEXT NOT NULL CHECK (kind IN ('text', 'request', 'accepted', 'failed')),
            status TEXT NOT NULL CHECK (status IN ('received', 'queued', 'sent', 'failed')),
            message_id TEXT NOT NULL,
            body_sealed BLOB,
            sent_at INTEGER,
            at INTEGER NOT NULL);
        CREATE INDEX messages_by_contact ON messages (contact_id, id);
        CREATE TABLE processed (
            message_id TEXT PRIMARY KEY,
            processed_at INTEGER NOT NULL);
        CREATE TABLE outbox (
            message_id TEXT PRIMARY KEY,
            recipient TEXT NOT NULL,
            payload BLOB NOT NULL,
            created_at INTEGER NOT NULL);
        """,
    ];

    private readonly SqliteConnection _connection;
    private SqliteTransaction? _transaction;
    private StoreCipher _cipher;

    private ProfileStore(SqliteConnection connection, StoreCipher cipher)
    {
        _connection = connection;
        _cipher = cipher;
    }

    /// <summary>The schema version this build writes.</summary>
    public static int SchemaVersion => Migrations.Length;

    /// <summary>True when the profile folder holds a database.</summary>
    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, FileName));

    /// <summary>Creates the folder (0700) and an empty database file (0600), then the schema.</summary>
    public static ProfileStore Create(string directory)
    {
        if (Exists(directory))
        {
            throw new CliException(ExitCodes.UsageError, $"A profile already exists in {directory}.");
        }
        CreateOwnerOnlyDirectory(directory);
        var path = Path.Combine(directory, FileName);
        using (File.Create(path))
        {
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, OwnerOnlyFile);
        }
        var store = new ProfileStore(OpenConnection(path), StoreCipher.Unencrypted());
        store.Migrate();
        return store;
    }

    /// <summary>
    /// Opens an initialised profile and unlocks it: the passphrase is asked for only when the profile
    /// is encrypted, and checked before anything is read or written.
    /// </summary>
    public static ProfileStore Open(string directory, Func<string?> passphrase)
    {
        if (!Exists(directory))
        {
            throw new CliException(ExitCodes.NotFound, $"No profile in {directory}: run 'pigeon init --server URL' first.");
        }
        var store = new ProfileStore(OpenConnection(Path.Combine(directory, FileName)), StoreCipher.Unencrypted());
        try
        {
            var version = store.UserVersion();
            if (version > SchemaVersion)
            {
                throw new CliException(ExitCodes.UsageError, $"This profile was written by a newer pigeon (schema {version}; this one knows {SchemaVersion}).");
            }
            if (version == 0 || !store.HasProfile())
            {
                throw new CliException(ExitCodes.NotFound, $"The profile in {directory} is not initialised: run 'pigeon init --server URL' first.");
            }
            store.Unlock(passphrase);
            store.Migrate();
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Switches to a passphrase-derived key for a new profile; call before anything secret is written.</summary>
    public void SetPassphrase(string passphrase, PassphraseKeyParameters parameters, out byte[] salt, out byte[] keyCheck)
    {
        salt = RandomNumberGenerator.GetBytes(PassphraseKey.SaltSize);
        _cipher.Dispose();
        _cipher = StoreCipher.FromPassphrase(passphrase, salt, parameters);
        keyCheck = _cipher.CreateKeyCheck();
    }

    /// <summary>Runs <paramref name="work"/> in one SQLite transaction: all of it is stored, or none.</summary>
    public T InTransaction<T>(Func<T> work)
    {
        if (_transaction is not null)
        {
            return work();
        }
        _transaction = _connection.BeginTransaction();
        try
        {
            var result = work();
            _transaction.Commit();
            return result;
        }
        catch
        {
            _transaction.Rollback();
            throw;
        }
        finally
        {
            _transaction.Dispose();
            _transaction = null;
        }
    }

    /// <inheritdoc cref="InTransaction{T}(Func{T})"/>
    public void InTransaction(Action work) => InTransaction(() =>
    {
        work();
        return true;
    });

    // ---- profile and keys ----

    /// <summary>Writes the profile row of a new identity, with its kdf parameters when encrypted.</summary>
    public void InsertProfile(
        string server, string displayName, IdentityKeyPair identity, PrekeyStore prekeys, DateTimeOffset now,
        (byte[] Salt, PassphraseKeyParameters Parameters, byte[] KeyCheck)? encryption)
    {
        var identityBlob = identity.Serialize();
        try
        {
            Execute(
                """
                INSERT INTO profile (id, account_id, server, display_name, public_identity, identity_sealed,
                    kdf_salt, kdf_memory_kib, kdf_iterations, key_check, signed_prekey_rotated_at, created_at)
                VALUES (1, $id, $server, $name, $public, $identity, $salt, $memory, $iterations, $check, $now, $now)
                """,
                ("$id", identity.AccountId), ("$server", server), ("$name", displayName),
                ("$public", identity.PublicIdentity.ToBytes()), ("$identity", _cipher.Seal(identityBlob, "identity")),
                ("$salt", encryption?.Salt), ("$memory", encryption?.Parameters.MemoryKiB), ("$iterations", encryption?.Parameters.Iterations),
                ("$check", encryption?.KeyCheck), ("$now", now.ToUnixTimeMilliseconds()));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(identityBlob);
        }
        SavePrekeys(prekeys);
    }

    /// <summary>The profile's public facts.</summary>
    public ProfileRow Profile()
    {
        using var command = Command("SELECT account_id, server, display_name, public_identity, created_at, signed_prekey_rotated_at, kdf_salt FROM profile WHERE id = 1");
        using var reader = command.ExecuteReader();
        reader.Read();
        return new ProfileRow(
            reader.GetString(0), reader.GetString(1), reader.GetString(2), PublicIdentity.FromBytes((byte[])reader[3]),
            FromMs(reader.GetInt64(4)), FromMs(reader.GetInt64(5)), !reader.IsDBNull(6));
    }

    /// <summary>The private identity; dispose it after use.</summary>
    public IdentityKeyPair LoadIdentity()
    {
        var blob = OpenSealed((byte[])Scalar("SELECT identity_sealed FROM profile WHERE id = 1")!, "identity");
        try
        {
            return IdentityKeyPair.Deserialize(blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    /// <summary>The private prekey store.</summary>
    public PrekeyStore LoadPrekeys()
    {
        var blob = OpenSealed((byte[])Scalar("SELECT store_sealed FROM prekeys WHERE id = 1")!, "prekeys");
        try
        {
            return PrekeyStore.Deserialize(blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    /// <summary>Replaces the stored prekeys (after any generation, rotation or use).</summary>
    public void SavePrekeys(PrekeyStore prekeys)
    {
        var blob = prekeys.Serialize();
        try
        {
            Execute("INSERT INTO prekeys (id, store_sealed) VALUES (1, $blob) ON CONFLICT (id) DO UPDATE SET store_sealed = excluded.store_sealed",
                ("$blob", _cipher.Seal(blob, "prekeys")));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    /// <summary>Records when the signed prekey was last rotated.</summary>
    public void SetSignedPrekeyRotatedAt(DateTimeOffset at) =>
        Execute("UPDATE profile SET signed_prekey_rotated_at = $at WHERE id = 1", ("$at", at.ToUnixTimeMilliseconds()));

    // ---- sessions ----

    /// <summary>The session with a contact, or null.</summary>
    public Session? LoadSession(string accountId)
    {
        var sealedState = Scalar("SELECT state_sealed FROM sessions WHERE account_id = $id", ("$id", accountId));
        return sealedState is byte[] bytes ? DeserializeSession(bytes, accountId) : null;
    }

    /// <summary>Every session, most recently used first (the order <c>sync</c> tries them in).</summary>
    public List<Session> LoadSessions()
    {
        var sealedStates = new List<(string Id, byte[] State)>();
        using (var command = Command("SELECT account_id, state_sealed FROM sessions ORDER BY updated_at DESC"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                sealedStates.Add((reader.GetString(0), (byte[])reader[1]));
            }
        }
        return [.. sealedStates.Select(s => DeserializeSession(s.State, s.Id))];
    }

    /// <summary>Stores the session state (after every encrypt and decrypt).</summary>
    public void SaveSession(Session session, DateTimeOffset now)
    {
        var blob = session.Serialize();
        try
        {
            Execute(
                """
                INSERT INTO sessions (account_id, base_key, state_sealed, updated_at) VALUES ($id, $base, $state, $now)
                ON CONFLICT (account_id) DO UPDATE SET base_key = excluded.base_key, state_sealed = excluded.state_sealed, updated_at = excluded.updated_at
                """,
                ("$id", session.RemoteAccountId), ("$base", session.BaseKey),
                ("$state", _cipher.Seal(blob, SessionPurpose(session.RemoteAccountId))), ("$now", now.ToUnixTimeMilliseconds()));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    /// <summary>Forgets the session with an account.</summary>
    public void DeleteSession(string accountId) => Execute("DELETE FROM sessions WHERE account_id = $id", ("$id", accountId));

    // ---- contacts and requests ----

    /// <summary>Every contact, by name.</summary>
    public List<ContactRow> Contacts()
    {
        using var command = Command("SELECT account_id, display_name, public_identity, state, verified, created_at, last_message_at FROM contacts ORDER BY display_name, account_id");
        return ReadContacts(command);
    }

    /// <summary>The contact with this id, or null.</summary>
    public ContactRow? Contact(string accountId)
    {
        using var command = Command("SELECT account_id, display_name, public_identity, state, verified, created_at, last_message_at FROM contacts WHERE account_id = $id", ("$id", accountId));
        return ReadContacts(command).SingleOrDefault();
    }

    /// <summary>Adds or replaces a contact.</summary>
    public void UpsertContact(ContactRow contact) => Execute(
        """
        INSERT INTO contacts (account_id, display_name, public_identity, state, verified, created_at, last_message_at)
        VALUES ($id, $name, $public, $state, $verified, $created, $last)
        ON CONFLICT (account_id) DO UPDATE SET display_name = excluded.display_name, public_identity = excluded.public_identity,
            state = excluded.state, verified = excluded.verified, last_message_at = excluded.last_message_at
        """,
        ("$id", contact.AccountId), ("$name", contact.DisplayName), ("$public", contact.PublicIdentity.ToBytes()),
        ("$state", contact.State == ContactState.Accepted ? "accepted" : "invited"), ("$verified", contact.Verified ? 1 : 0),
        ("$created", contact.CreatedAt.ToUnixTimeMilliseconds()), ("$last", contact.LastMessageAt?.ToUnixTimeMilliseconds()));

    /// <summary>Every pending request, oldest first.</summary>
    public List<RequestRow> Requests()
    {
        using var command = Command("SELECT account_id, display_name, public_identity, message_sealed, received_at FROM requests ORDER BY received_at");
        using var reader = command.ExecuteReader();
        var rows = new List<RequestRow>();
        while (reader.Read())
        {
            var message = reader.IsDBNull(3) ? null : Encoding.UTF8.GetString(OpenSealed((byte[])reader[3], "request"));
            rows.Add(new RequestRow(reader.GetString(0), reader.GetString(1), PublicIdentity.FromBytes((byte[])reader[2]), message, FromMs(reader.GetInt64(4))));
        }
        return rows;
    }

    /// <summary>Adds or replaces a pending request.</summary>
    public void UpsertRequest(RequestRow request) => Execute(
        """
        INSERT INTO requests (account_id, display_name, public_identity, message_sealed, received_at) VALUES ($id, $name, $public, $message, $at)
        ON CONFLICT (account_id) DO UPDATE SET display_name = excluded.display_name, public_identity = excluded.public_identity,
            message_sealed = excluded.message_sealed, received_at = excluded.received_at
        """,
        ("$id", request.AccountId), ("$name", request.DisplayName), ("$public", request.PublicIdentity.ToBytes()),
        ("$message", request.Message is null ? null : _cipher.Seal(Encoding.UTF8.GetBytes(request.Message), "request")),
        ("$at", request.ReceivedAt.ToUnixTimeMilliseconds()));

    /// <summary>Removes a pending request.</summary>
    public void DeleteRequest(string accountId) => Execute("DELETE FROM requests WHERE account_id = $id", ("$id", accountId));

    // ---- history, dedupe, outbox ----

    /// <summary>Appends a history item and moves the contact's last-message time.</summary>
    public long AddMessage(string contactId, MessageDirection direction, MessageKind kind, MessageStatus status, Guid messageId, string? body, DateTimeOffset? sentAt, DateTimeOffset at)
    {
        Execute("UPDATE contacts SET last_message_at = $at WHERE account_id = $id", ("$id", contactId), ("$at", at.ToUnixTimeMilliseconds()));
        return (long)Scalar(
            """
            INSERT INTO messages (contact_id, direction, kind, status, message_id, body_sealed, sent_at, at)
            VALUES ($contact, $direction, $kind, $status, $messageId, $body, $sent, $at) RETURNING id
            """,
            ("$contact", contactId), ("$direction", Lower(direction)), ("$kind", Lower(kind)), ("$status", Lower(status)),
            ("$messageId", messageId.ToString()), ("$body", body is null ? null : _cipher.Seal(Encoding.UTF8.GetBytes(body), "message")),
            ("$sent", sentAt?.ToUnixTimeMilliseconds()), ("$at", at.ToUnixTimeMilliseconds()))!;
    }

    /// <summary>The last <paramref name="limit"/> items with a contact, oldest first.</summary>
    public List<MessageRow> History(string contactId, int limit)
    {
        using var command = Command(
            """
            SELECT * FROM (SELECT id, contact_id, direction, kind, status, message_id, body_sealed, sent_at, at
                           FROM messages WHERE contact_id = $contact ORDER BY id DESC LIMIT $limit) ORDER BY id
            """,
            ("$contact", contactId), ("$limit", limit));
        using var reader = command.ExecuteReader();
        var rows = new List<MessageRow>();
        while (reader.Read())
        {
            rows.Add(new MessageRow(
                reader.GetInt64(0), reader.GetString(1), Enum.Parse<MessageDirection>(reader.GetString(2), true), Enum.Parse<MessageKind>(reader.GetString(3), true),
                Enum.Parse<MessageStatus>(reader.GetString(4), true), Guid.Parse(reader.GetString(5)),
                reader.IsDBNull(6) ? null : Encoding.UTF8.GetString(OpenSealed((byte[])reader[6], "message")),
                reader.IsDBNull(7) ? null : FromMs(reader.GetInt64(7)), FromMs(reader.GetInt64(8))));
        }
        return rows;
    }

    /// <summary>Sets the delivery status of an outgoing item.</summary>
    public void SetMessageStatus(Guid messageId, MessageStatus status) =>
        Execute("UPDATE messages SET status = $status WHERE message_id = $id AND direction = 'out'", ("$id", messageId.ToString()), ("$status", Lower(status)));

    /// <summary>Deletes the history kept under an account id (a declined request's).</summary>
    public void DeleteHistory(string contactId) => Execute("DELETE FROM messages WHERE contact_id = $id", ("$id", contactId));

    /// <summary>True when an envelope with this id was already processed.</summary>
    public bool IsProcessed(Guid messageId) => Scalar("SELECT 1 FROM processed WHERE message_id = $id", ("$id", messageId.ToString())) is not null;

    /// <summary>Remembers a processed envelope id, so a redelivery is recognised.</summary>
    public void MarkProcessed(Guid messageId, DateTimeOffset now) =>
        Execute("INSERT OR IGNORE INTO processed (message_id, processed_at) VALUES ($id, $now)", ("$id", messageId.ToString()), ("$now", now.ToUnixTimeMilliseconds()));

    /// <summary>Forgets processed ids older than <paramref name="before"/>: the server redelivers only until the ack.</summary>
    public void PruneProcessed(DateTimeOffset before) =>
        Execute("DELETE FROM processed WHERE processed_at < $before", ("$before", before.ToUnixTimeMilliseconds()));

    /// <summary>Queues a ciphertext for deposit.</summary>
    public void AddOutbox(OutboxRow row, DateTimeOffset now) => Execute(
        "INSERT INTO outbox (message_id, recipient, payload, created_at) VALUES ($id, $recipient, $payload, $now)",
        ("$id", row.MessageId.ToString()), ("$recipient", row.Recipient), ("$payload", row.Payload), ("$now", now.ToUnixTimeMilliseconds()));

    /// <summary>Every queued ciphertext, oldest first.</summary>
    public List<OutboxRow> Outbox()
    {
        using var command = Command("SELECT message_id, recipient, payload FROM outbox ORDER BY created_at, rowid");
        using var reader = command.ExecuteReader();
        var rows = new List<OutboxRow>();
        while (reader.Read())
        {
            rows.Add(new OutboxRow(Guid.Parse(reader.GetString(0)), reader.GetString(1), (byte[])reader[2]));
        }
        return rows;
    }

    /// <summary>Removes a deposited ciphertext and marks its history item sent.</summary>
    public void CompleteOutbox(Guid messageId) => InTransaction(() =>
    {
        Execute("DELETE FROM outbox WHERE message_id = $id", ("$id", messageId.ToString()));
        SetMessageStatus(messageId, MessageStatus.Sent);
    });

    /// <summary>Removes a ciphertext the server refused for good (its history item says failed).</summary>
    public void CompleteOutboxAsFailed(Guid messageId) => Execute("DELETE FROM outbox WHERE message_id = $id", ("$id", messageId.ToString()));

    public void Dispose()
    {
        _cipher.Dispose();
        _connection.Dispose();
    }

    private static void CreateOwnerOnlyDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }
        // Every folder created on the way is private, the profile folder itself in any case.
        var full = Path.GetFullPath(directory);
        var missing = new Stack<string>();
        for (var current = full; !Directory.Exists(current); current = Path.GetDirectoryName(current)!)
        {
            missing.Push(current);
        }
        while (missing.TryPop(out var folder))
        {
            Directory.CreateDirectory(folder, OwnerOnlyDirectory);
        }
        File.SetUnixFileMode(full, OwnerOnlyDirectory);
    }

    private static SqliteConnection OpenConnection(string path)
    {
        // No pooling: a command's file handle must be closed when it ends (tests compare the file, and
        // profiles are removed).
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        connection.Open();
        using var busy = connection.CreateCommand();
        busy.CommandText = "PRAGMA busy_timeout = 10000";
        busy.ExecuteNonQuery();
        return connection;
    }

    private void Unlock(Func<string?> passphrase)
    {
        using var command = Command("SELECT kdf_salt, kdf_memory_kib, kdf_iterations, key_check FROM profile WHERE id = 1");
        using var reader = command.ExecuteReader();
        reader.Read();
        if (reader.IsDBNull(0))
        {
            return;
        }
        var salt = (byte[])reader[0];
        var parameters = new PassphraseKeyParameters(reader.GetInt64(1), reader.GetInt64(2));
        var keyCheck = (byte[])reader[3];
        var given = passphrase() ?? throw new CliException(ExitCodes.CryptoFailure,
            "This profile is encrypted: set PIGEON_PASSPHRASE or run pigeon in a terminal to be asked for the passphrase.");
        var cipher = StoreCipher.FromPassphrase(given, salt, parameters);
        try
        {
            cipher.VerifyKeyCheck(keyCheck);
        }
        catch
        {
            cipher.Dispose();
            throw;
        }
        _cipher.Dispose();
        _cipher = cipher;
    }

    private void Migrate()
    {
        var version = UserVersion();
        if (version >= SchemaVersion)
        {
            return;
        }
        InTransaction(() =>
        {
            for (var v = version; v < SchemaVersion; v++)
            {
                Execute(Migrations[v]);
            }
            Execute($"PRAGMA user_version = {SchemaVersion.ToString(CultureInfo.InvariantCulture)}");
        });
    }

    private int UserVersion() => (int)(long)Scalar("PRAGMA user_version")!;

    private bool HasProfile() =>
        Scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'profile'") is not null
        && Scalar("SELECT 1 FROM profile WHERE id = 1") is not null;

    private Session DeserializeSession(byte[] sealedState, string accountId)
    {
        var blob = OpenSealed(sealedState, SessionPurpose(accountId));
        try
        {
            return Session.Deserialize(blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    private static string SessionPurpose(string accountId) => "session:" + accountId;

    private byte[] OpenSealed(byte[] stored, string purpose)
    {
        try
        {
            return _cipher.Open(stored, purpose);
        }
        catch (CryptographicException exception)
        {
            throw new CliException(ExitCodes.CryptoFailure, $"A stored value ({purpose.Split(':')[0]}) could not be opened: the profile is damaged.", exception);
        }
    }

    private static List<ContactRow> ReadContacts(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var rows = new List<ContactRow>();
        while (reader.Read())
        {
            rows.Add(new ContactRow(
                reader.GetString(0), reader.GetString(1), PublicIdentity.FromBytes((byte[])reader[2]),
                reader.GetString(3) == "accepted" ? ContactState.Accepted : ContactState.Invited,
                reader.GetInt64(4) != 0, FromMs(reader.GetInt64(5)), reader.IsDBNull(6) ? null : FromMs(reader.GetInt64(6))));
        }
        return rows;
    }

    private static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = _transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command;
    }

    private void Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        command.ExecuteNonQuery();
    }

    private object? Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        var value = command.ExecuteScalar();
        return value is DBNull ? null : value;
    }
}
