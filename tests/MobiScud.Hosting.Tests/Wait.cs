namespace MobiScud.Hosting.Tests;

internal static class Wait
{
    /// <summary>Polls a condition with a generous deadline; the failure names what was awaited.</summary>
    public static async Task Until(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"gave up after {seconds} s waiting for: {what}");
            }

            await Task.Delay(25);
        }
    }
}
