namespace NekkBackup.Commands.Infrastructure
{
    /// <summary>
    /// The size formatter the format views call (<c>[NekkBackup.Commands.Infrastructure.Format]::Bytes($_.SizeBytes)</c>):
    /// PowerShell 7 cannot name types of the isolated core assembly in a view, so this public facade forwards to
    /// <see cref="Core.Primitives.ByteSize"/>, the one formatter every view, log and message uses.
    /// </summary>
    public static class Format
    {
        public static string Bytes(long bytes) => Core.Primitives.ByteSize.Format(bytes);

        /// <summary>Views pass whatever the property holds (long, int, null).</summary>
        public static string Bytes(object? value) => Core.Primitives.ByteSize.Format(value);
    }
}
