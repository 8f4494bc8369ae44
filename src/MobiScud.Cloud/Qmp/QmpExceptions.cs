namespace MobiScud.Cloud.Qmp;

/// <summary>QEMU answered a command with an error; <see cref="Class"/> is QEMU's error class (GenericError, CommandNotFound ...).</summary>
internal sealed class QmpException(string command, string errorClass, string desc)
    : Exception($"QMP '{command}' failed: {errorClass}: {desc}")
{
    public string Command { get; } = command;

    public string Class { get; } = errorClass;

    public string Desc { get; } = desc;
}

/// <summary>QEMU sent something that is not QMP (bad JSON, a reply to no command, no greeting).</summary>
internal sealed class QmpProtocolException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The QMP connection is gone (QEMU exited or closed the socket) while a command waited.</summary>
internal sealed class QmpConnectionClosedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>QEMU did not answer a command (or an awaited event did not come) in time.</summary>
internal sealed class QmpTimeoutException(string message) : TimeoutException(message);
