namespace MobiScud.Hosting.Pipeline;

/// <summary>Failures that pass when storage or the cluster comes back (retry them); anything else is a bug or bad input.</summary>
internal static class TransientFaults
{
    public static bool Is(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is Orleans.Runtime.OrleansException or TimeoutException or Orleans.Storage.InconsistentStateException or StackExchange.Redis.RedisException
                or System.Data.Common.DbException or System.Net.Sockets.SocketException or IOException)
            {
                return true;
            }
        }

        return false;
    }
}
