using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Pigeon.Protocol.Storage;

namespace Pigeon.Messaging.Store;

/// <summary>
/// One profile's SQLite database (<c>pigeon.db</c>, mode 0600, in a 0700 folder): the connection, its
/// transactions, the schema, and the sealing of rows under the store key (<see cref="StoreCipher"/>,
/// kept in table <c>header</c> as <see cref="StoreKeyProtection"/> says). Every table but
/// <c>header</c> holds only keyed hashes, versions, per-conversation order numbers and sealed values.
/// Each connection runs with <c>secure_delete</c> and a truncated rollback journal, so what is deleted
/// or replaced is overwritten, not left in free pages or the journal. The schema version is
/// <c>PRAGMA user_version</c>; files of another version are refused, not migrated.
/// </summary>
internal sealed class ProfileDatabase : IDisposable
{
    /// <summary>The database file's name inside the profile folder.</summary>
    public const string FileName = "pigeon.db";

    /// <summary>
    /// The schema version this build reads and writes; version 1 (columns in the clear), 2 (before
    /// attachments) and 3 (one device per account) are no longer read.
    /// </summary>
    public const int SchemaVersion = 4;

    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The tables of sealed values by key (<see cref="SealedTable"/>).</summary>
    private static readonly string[] SealedTableNames = ["profile", "contacts", "requests", "sessions", "delivery_keys", "processed", "outbox", "expiries", "blocked", "settings", "held", "groups", "attachments", "uploads", "device_lists"];

    private static readonly string Schema = string.Join("\n",
        """
        CREATE TABLE header (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            kdf_salt BLOB,
            kdf_memory_kib INTEGER,
            kdf_iterations INTEGER,
            store_key BLOB NOT NULL);
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation BLOB NOT NULL,
            seq INTEGER NOT NULL,
            ref BLOB NOT NULL,
            version INTEGER NOT NULL,
            sealed BLOB NOT NULL);
        CREATE UNIQUE INDEX messages_in_order ON messages (conversation, seq);
        CREATE INDEX messages_by_ref ON messages (ref);
        """,
        string.Join("\n", SealedTableNames.Select(SealedTable.CreateStatement)));

    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, SealedTable> _sealedTables;
    private SqliteTransaction? _transaction;
    private StoreCipher? _cipher;

    private ProfileDatabase(SqliteConnection connection)
    {
        _connection = connection;
        _sealedTables = SealedTableNames.ToDictionary(name => name, name => new SealedTable(this, name));
        Profile = new ProfileTable(this, _sealedTables["profile"]);
        Prekeys = new PrekeyTable(_sealedTables["profile"]);
        Sessions = new SessionTable(_sealedTables["sessions"]);
        Contacts = new ContactTable(_sealedTables["contacts"]);
        Requests = new RequestTable(_sealedTables["requests"]);
        Messages = new MessageTable(this, _sealedTables["expiries"]);
        Processed = new ProcessedTable(_sealedTables["processed"]);
        Outbox = new OutboxTable(this, _sealedTables["outbox"]);
        DeliveryKeys = new DeliveryKeyTable(_sealedTables["delivery_keys"]);
        Blocked = new BlockedTable(_sealedTables["blocked"]);
        Receipts = new ReceiptTable(Messages);
        Settings = new SettingTable(_sealedTables["settings"]);
        Held = new HeldTable(_sealedTables["held"], this);
        Groups = new GroupTable(_sealedTables["groups"]);
        Attachments = new AttachmentTable(_sealedTables["attachments"]);
        Uploads = new UploadTable(_sealedTables["uploads"]);
        DeviceLists = new DeviceListTable(_sealedTables["device_lists"]);
    }

    /// <summary>Device lists accepted: our own account's and each peer's.</summary>
    public DeviceListTable DeviceLists { get; }

    /// <summary>Files that messages carried, sent and received (pointers and keys sealed).</summary>
    public AttachmentTable Attachments { get; }

    /// <summary>Uploads begun and not yet sent.</summary>
    public UploadTable Uploads { get; }

    /// <summary>The groups this profile knows, each with its versions (titles and members sealed).</summary>
    public GroupTable Groups { get; }

    /// <summary>The profile's own facts, its private identity (and, through <see cref="Prekeys"/>, its prekeys).</summary>
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
        DeviceLists.Delete(accountId);
        DeliveryKeys.Delete(accountId);
        Messages.DeleteHistory(accountId);
        Outbox.RemoveAllFor(accountId);
    }

    /// <summary>The account ids of every contact and pending request.</summary>
    public HashSet<string> KnownAccounts() => [.. Contacts.All().Select(c => c.AccountId), .. Requests.All().Select(r => r.AccountId)];

    /// <summary>True when the store key is protected by a passphrase.</summary>
    public bool IsEncrypted => Scalar("SELECT kdf_salt FROM header WHERE id = 1") is not null;

    /// <summary>True when the profile folder holds a database.</summary>
    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, FileName));

    /// <summary>
    /// Creates the folder (0700) and an empty database file (0600), then the schema and a new random
    /// store key, under <paramref name="passphrase"/> when one is given (null: a plaintext profile).
    /// </summary>
    public static ProfileDatabase Create(string directory, string? passphrase, PassphraseKeyParameters parameters)
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
        try
        {
            var storeKey = RandomNumberGenerator.GetBytes(StoreCipher.KeySize);
            try
            {
                var settings = passphrase is null ? null : PassphraseSettings.New(parameters);
                database.InTransaction(() =>
                {
                    database.Execute(Schema);
                    database.WriteHeader(storeKey, passphrase, settings);
                    database.Execute($"PRAGMA user_version = {SchemaVersion.ToString(CultureInfo.InvariantCulture)}");
                });
                database._cipher = new StoreCipher(storeKey);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(storeKey);
            }

            return database;
        }
        catch
        {
            database.Dispose();
            throw;
        }
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
            if (version == 0)
            {
                throw new ProfileNotFoundException(directory, fileExists: true);
            }

            if (version != SchemaVersion)
            {
                throw new ProfileFormatException(version, SchemaVersion);
            }

            // A sealed table added within format 2 (groups) is created empty in a file made before it.
            database.Execute(string.Join("\n", SealedTableNames.Select(name => SealedTable.CreateStatement(name).Replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", StringComparison.Ordinal))));
            var (stored, settings) = database.ReadHeader() ?? throw new ProfileNotFoundException(directory, fileExists: true);
            var storeKey = StoreKeyProtection.Unprotect(stored, settings, passphrase);
            try
            {
                database._cipher = new StoreCipher(storeKey);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(storeKey);
            }

            return database;
        }
        catch
        {
            database.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Seals everything again under a new random store key, protected by <paramref name="passphrase"/>
    /// (null: none), in one transaction: until it commits the file opens with the old passphrase only,
    /// and afterwards with the new one only.
    /// </summary>
    public void ChangePassphrase(string? passphrase, PassphraseKeyParameters parameters)
    {
        var old = Cipher;
        var storeKey = RandomNumberGenerator.GetBytes(StoreCipher.KeySize);
        var fresh = new StoreCipher(storeKey);
        try
        {
            var settings = passphrase is null ? null : PassphraseSettings.New(parameters);
            InTransaction(() =>
            {
                var rows = _sealedTables.Values.Select(table => (Table: table, Rows: table.All())).ToList();
                var messages = Messages.AllForResealing();
                _cipher = fresh;
                foreach (var (table, tableRows) in rows)
                {
                    table.Clear();
                    foreach (var (key, value) in tableRows)
                    {
                        table.Put(key, value);
                        Array.Clear(value);
                    }
                }

                Messages.Reseal(messages);
                WriteHeader(storeKey, passphrase, settings);
            });
        }
        catch
        {
            _cipher = old;
            fresh.Dispose();
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(storeKey);
        }

        old.Dispose();
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
        _cipher?.Dispose();
        _connection.Dispose();
    }

    /// <summary>The keyed hash that stands for <paramref name="value"/> in <paramref name="kind"/> (a table, or <c>conversation</c>).</summary>
    internal byte[] Lookup(string kind, string value) => Cipher.Lookup(kind, value);

    /// <summary>Seals a row's plaintext for its table, key and version.</summary>
    internal byte[] SealRow(string table, ReadOnlySpan<byte> rowKey, long version, ReadOnlySpan<byte> plaintext) =>
        Cipher.Seal(plaintext, StoreCipher.AssociatedData(table, rowKey, version));

    /// <summary>Opens a row sealed by <see cref="SealRow"/>; one that does not open was altered, moved or rolled back.</summary>
    /// <exception cref="ProfileDamagedException">It does not open.</exception>
    internal byte[] OpenRow(string table, ReadOnlySpan<byte> rowKey, long version, byte[] stored)
    {
        try
        {
            return Cipher.Open(stored, StoreCipher.AssociatedData(table, rowKey, version));
        }
        catch (CryptographicException exception)
        {
            throw new ProfileDamagedException(table, exception);
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

    private StoreCipher Cipher => _cipher ?? throw new ProfileLockedException(LockedReason.SessionLocked);

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
        using var pragmas = connection.CreateCommand();
        // secure_delete overwrites deleted and replaced content with zeros; the rollback journal (which
        // holds the old pages during a transaction) is truncated to nothing at each commit; temporary
        // tables and sorts stay in memory.
        pragmas.CommandText = "PRAGMA busy_timeout = 10000; PRAGMA secure_delete = ON; PRAGMA journal_mode = TRUNCATE; PRAGMA temp_store = MEMORY;";
        pragmas.ExecuteNonQuery();
        return connection;
    }

    private (byte[] StoreKey, PassphraseSettings? Settings)? ReadHeader() =>
        Scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'header'") is null
            ? null
            : Query("SELECT store_key, kdf_salt, kdf_memory_kib, kdf_iterations FROM header WHERE id = 1",
                reader => ((byte[])reader[0], reader.IsDBNull(1) ? null : new PassphraseSettings((byte[])reader[1], new PassphraseKeyParameters(reader.GetInt64(2), reader.GetInt64(3)))))
                .Select(h => ((byte[], PassphraseSettings?)?)h).SingleOrDefault();

    private void WriteHeader(byte[] storeKey, string? passphrase, PassphraseSettings? settings) => Execute(
        """
        INSERT INTO header (id, kdf_salt, kdf_memory_kib, kdf_iterations, store_key) VALUES (1, $salt, $memory, $iterations, $key)
        ON CONFLICT (id) DO UPDATE SET kdf_salt = excluded.kdf_salt, kdf_memory_kib = excluded.kdf_memory_kib,
            kdf_iterations = excluded.kdf_iterations, store_key = excluded.store_key
        """,
        ("$salt", settings?.Salt), ("$memory", settings?.Parameters.MemoryKiB), ("$iterations", settings?.Parameters.Iterations),
        ("$key", StoreKeyProtection.Protect(storeKey, passphrase, settings)));

    private int UserVersion() => (int)(long)Scalar("PRAGMA user_version")!;
}
