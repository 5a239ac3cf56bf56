namespace Pigeon.Grains.Abstractions.Accounts;

/// <summary>An account id is already registered with other identity keys.</summary>
[GenerateSerializer, Alias("pigeon.account-conflict")]
public sealed class AccountConflictException : Exception
{
    public AccountConflictException() : base("This account id is already registered with other keys.") { }

    public AccountConflictException(string message) : base(message) { }

    public AccountConflictException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>The account is not registered.</summary>
[GenerateSerializer, Alias("pigeon.account-not-found")]
public sealed class AccountNotFoundException : Exception
{
    public AccountNotFoundException() : base("No account is registered with this id.") { }

    public AccountNotFoundException(string message) : base(message) { }

    public AccountNotFoundException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>The account has not uploaded the signed prekeys a bundle needs.</summary>
[GenerateSerializer, Alias("pigeon.prekeys-unavailable")]
public sealed class PrekeysUnavailableException : Exception
{
    public PrekeysUnavailableException() : base("The account has no signed prekeys to hand out.") { }

    public PrekeysUnavailableException(string message) : base(message) { }

    public PrekeysUnavailableException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>An upload would take a one-time prekey pool past its limit.</summary>
[GenerateSerializer, Alias("pigeon.prekey-pool-full")]
public sealed class PrekeyPoolFullException : Exception
{
    public PrekeyPoolFullException() : base("The one-time prekey pool is full.") { }

    public PrekeyPoolFullException(string message) : base(message) { }

    public PrekeyPoolFullException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for one pool.</summary>
    public PrekeyPoolFullException(OneTimePrekeyKind kind, int limit)
        : base($"The one-time {kind} prekey pool would exceed its limit of {limit}.")
    {
        Kind = kind;
        Limit = limit;
    }

    /// <summary>The pool that is full.</summary>
    [Id(0)]
    public OneTimePrekeyKind Kind { get; init; }

    /// <summary>The pool's limit.</summary>
    [Id(1)]
    public int Limit { get; init; }
}

/// <summary>An account would deposit on the identified route to more new recipients within an hour than allowed.</summary>
[GenerateSerializer, Alias("pigeon.new-recipient-limit")]
public sealed class NewRecipientLimitException : Exception
{
    public NewRecipientLimitException() : base("Too many new recipients within an hour.") { }

    public NewRecipientLimitException(string message) : base(message) { }

    public NewRecipientLimitException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for a limit and the time until a recipient leaves the window.</summary>
    public NewRecipientLimitException(int limit, TimeSpan retryAfter)
        : base($"At most {limit} new recipients within an hour on the identified route.")
    {
        Limit = limit;
        RetryAfter = retryAfter;
    }

    /// <summary>The hourly limit.</summary>
    [Id(0)]
    public int Limit { get; init; }

    /// <summary>When the oldest recipient in the window leaves it.</summary>
    [Id(1)]
    public TimeSpan RetryAfter { get; init; }
}

/// <summary>
/// Keys that do not prove what they claim: identity keys that do not derive the account id or whose
/// agreement key the signing key did not sign, or a prekey whose signature does not verify with the
/// account's identity key for its kind and id. The account grain checks this itself, whoever calls it.
/// </summary>
[GenerateSerializer, Alias("pigeon.key-mismatch")]
public sealed class KeyMismatchException : Exception
{
    public KeyMismatchException() : base("The keys do not match the account id, or a signature does not verify with the identity key.") { }

    public KeyMismatchException(string message) : base(message) { }

    public KeyMismatchException(string message, Exception innerException) : base(message, innerException) { }
}
