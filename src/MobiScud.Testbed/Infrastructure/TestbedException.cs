namespace MobiScud.Testbed.Infrastructure;

/// <summary>A testbed step failed; the message names the step and what the tool said.</summary>
public sealed class TestbedException : Exception
{
    public TestbedException(string message)
        : base(message)
    {
    }

    public TestbedException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
