namespace NekkBackup.Commands.Infrastructure
{
    internal static class Placeholder { }
}
