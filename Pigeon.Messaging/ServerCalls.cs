using Pigeon.Api;

namespace Pigeon.Messaging;

/// <summary>Calls to the server, their failures turned into the core's exceptions.</summary>
internal static class ServerCalls
{
    /// <summary>
    /// Runs <paramref name="call"/>: not reaching <paramref name="server"/>, no answer in time, or an
    /// answer that it is unavailable for now is a <see cref="ServerUnreachableException"/>; any other
    /// refusal a <see cref="ServerRefusedException"/> (about <paramref name="accountId"/>, when given).
    /// </summary>
    public static async Task<T> RunAsync<T>(Uri server, Func<Task<T>> call, string? accountId = null)
    {
        try
        {
            return await call();
        }
        catch (Exception exception) when (exception is HttpRequestException or TimeoutException or PigeonApiException { IsTransient: true })
        {
            throw new ServerUnreachableException(server, exception);
        }
        catch (PigeonApiException exception)
        {
            throw new ServerRefusedException(exception, accountId);
        }
    }

    /// <inheritdoc cref="RunAsync{T}(Uri, Func{Task{T}}, string?)"/>
    public static Task RunAsync(Uri server, Func<Task> call, string? accountId = null) => RunAsync(server, async () =>
    {
        await call();
        return true;
    }, accountId);
}
