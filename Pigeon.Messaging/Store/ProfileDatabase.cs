using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Pigeon.Protocol.Storage;

namespace Pigeon.Messaging.Store;

/// <summary>
/// One profile's SQLite database (<c>pigeon.db</c>, mode 0600, in a 0700 folder): the connection, its
/// transactions, the schema and its migrations, and the sealing of secret values
/// (<see cref="StoreCipher"/>). The schema version is <c>PRAGMA user_version</c>; <see cref="Migrations"/>
/// bring older files up to date. Each table has a class of its own, reached from here.
/// </summary>
internal sealed class ProfileDatabase : IDisposable
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
            record_sealed BLOB NOT NULL,
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
        CREATE TABLE delivery_keys (
            account_id TEXT PRIMARY KEY,
            key_sealed BLOB NOT NULL);
        CREATE TABLE outbox (
            message_id TEXT PRIMARY KEY,
            recipient TEXT NOT NULL,
            payload BLOB NOT NULL,
            created_at INTEGER NOT NULL);
        CREATE TABLE blocked (
            account_id TEXT PRIMARY KEY,
            blocked_at INTEGER NOT NULL);
        """,
        """
        CREATE TABLE receipts (
            message_id TEXT PRIMARY KEY,
            delivered_at INTEGER,
            read_at INTEGER);
        CREATE TABLE settings (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL);
        CREATE TABLE held (
            message_id TEXT PRIMARY KEY,
            held_at INTEGER NOT NULL);
        """,
    ];

    private readonly SqliteConnection _connection;
    private SqliteTransaction? _transaction;
    private StoreCipher _cipher;

    private ProfileDatabase(SqliteConnection connection)
    {
        _connection = connection;
        _cipher = StoreCipher.Unencrypted();
        Profile = new ProfileTable(this);
        Prekeys = new PrekeyTable(this);
        Sessions = new SessionTable(this);
        Contacts = new ContactTable(this);
        Requests = new RequestTable(this);
        Messages = new MessageTable(this);
        Processed = new ProcessedTable(this);
        Outbox = new OutboxTable(this);
        DeliveryKeys = new DeliveryKeyTable(this);
        Receipts = new ReceiptTable(this);
        Settings = new SettingTable(this);
        Held = new HeldTable(this);
        Blocked = new BlockedTable(this);
    }

    /// <summary>The schema version this build writes.</summary>
    public static int SchemaVersion => Migrations.Length;

    /// <summary>The one profile row: identity and settings.</summary>
    public ProfileTable Profile { get; }

    /// <summary>The sealed private prekeys.</summary>
    public PrekeyTable Prekeys { get; }

    /// <summary>Double Ratchet sessions, one record (current and archived sessions) per contact.</summary>
    public SessionTable Sessions { get; }

    /// <summary>Contacts.</summary>
    public ContactTable Contacts { get; }

    /// <summary>Pending incoming contact requests.</summary>
    public RequestTable Requests { get; }

    /// <summary>The history.</summary>
    public MessageTable Messages { get; }

    /// <summary>Ids of envelopes already processed.</summary>
    public ProcessedTable Processed { get; }

    /// <summary>Ciphertexts waiting to be deposited.</summary>
    public OutboxTable Outbox { get; }

    /// <summary>Delivery keys: this profile's own and its contacts'.</summary>
    public DeliveryKeyTable DeliveryKeys { get; }

    /// <summary>When messages were delivered to and read by their recipient (ours by the contact, theirs by us).</summary>
    public ReceiptTable Receipts { get; }

    /// <summary>The profile's settings (read receipts, typing indicators).</summary>
    public SettingTable Settings { get; }

    /// <summary>Received messages an integration has not acknowledged yet (the daemon's manual mode).</summary>
    public HeldTable Held { get; }

    /// <summary>Blocked accounts.</summary>
    public BlockedTable Blocked { get; }

    /// <summary>
    /// Forgets everything kept under an account id that is no longer a contact or a request: its
    /// session record, its delivery key, its history and whatever we still had queued for it.
    /// </summary>
    public void ForgetAccount(string accountId)
    {
        Contacts.Delete(accountId);
        Requests.Delete(accountId);
        Sessions.Delete(accountId);
        DeliveryKeys.Delete(accountId);
        Messages.DeleteHistory(accountId);
        Outbox.RemoveAllFor(accountId);
    }

    /// <summary>True when the profile folder holds a database.</summary>
    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, FileName));

    /// <summary>Creates the folder (0700) and an empty database file (0600), then the schema.</summary>
    public static ProfileDatabase Create(string directory)
    {
        if (Exists(directory))
        {
            throw new ProfileExistsException(directory);
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

        var database = new ProfileDatabase(OpenConnection(path));
        database.Migrate();
        return database;
    }

    /// <summary>
    /// Opens an initialised profile and unlocks it: the passphrase is asked for only when the profile
    /// is encrypted, and checked before anything is read or written.
    /// </summary>
    public static ProfileDatabase Open(string directory, Func<string?> passphrase)
    {
        if (!Exists(directory))
        {
            throw new ProfileNotFoundException(directory, fileExists: false);
        }

        var database = new ProfileDatabase(OpenConnection(Path.Combine(directory, FileName)));
        try
        {
            var version = database.UserVersion();
            if (version > SchemaVersion)
            {
                throw new ProfileTooNewException(version, SchemaVersion);
            }

            if (version == 0 || !database.Profile.Exists())
            {
                throw new ProfileNotFoundException(directory, fileExists: true);
            }

            database.Unlock(passphrase);
            database.Migrate();
            return database;
        }
        catch
        {
            database.Dispose();
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

    public void Dispose()
    {
        _cipher.Dispose();
        _connection.Dispose();
    }

    /// <summary>Seals a secret value for the column named by <paramref name="purpose"/>.</summary>
    internal byte[] Seal(ReadOnlySpan<byte> plaintext, string purpose) => _cipher.Seal(plaintext, purpose);

    /// <summary>Opens a value sealed for <paramref name="purpose"/>; one that does not open means the file is damaged.</summary>
    internal byte[] OpenSealed(byte[] stored, string purpose)
    {
        try
        {
            return _cipher.Open(stored, purpose);
        }
        catch (CryptographicException exception)
        {
            throw new ProfileDamagedException(purpose.Split(':')[0], exception);
        }
    }

    /// <summary>A command in the current transaction, if any.</summary>
    internal SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
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

    /// <summary>Runs a statement; returns how many rows it changed.</summary>
    internal int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteNonQuery();
    }

    /// <summary>The first column of the first row, null for none or NULL.</summary>
    internal object? Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        var value = command.ExecuteScalar();
        return value is DBNull ? null : value;
    }

    /// <summary>Reads every row with <paramref name="read"/>.</summary>
    internal List<T> Query<T>(string sql, Func<SqliteDataReader, T> read, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>A stored time (Unix milliseconds).</summary>
    internal static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

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
        if (Profile.Encryption() is not var (salt, parameters, keyCheck))
        {
            return;
        }

        var given = passphrase() ?? throw new ProfileLockedException(LockedReason.PassphraseMissing);
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
}
