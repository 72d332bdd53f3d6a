using System.Runtime.InteropServices;

namespace NekkBackup.Core.Plans
{
    /// <summary>mpr.dll WNetAddConnection2 / WNetCancelConnection2 (never forced). Windows only.</summary>
    public sealed class WindowsNasConnector : INasConnector
    {
        public static readonly WindowsNasConnector Instance = new();

        private WindowsNasConnector() { }

        private const int ResourceTypeDisk = 1;
        private const int ConnectTemporary = 4;

        public int Connect(string share, string userName, string secret)
        {
            var nr = new NetResource { dwType = ResourceTypeDisk, lpRemoteName = share };
            return WNetAddConnection2(nr, secret, userName, ConnectTemporary);
        }

        public int Disconnect(string share) => WNetCancelConnection2(share, 0, false);

        [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
        private sealed class NetResource
        {
            public int dwScope;
            public int dwType;
            public int dwDisplayType;
            public int dwUsage;
            public string? lpLocalName;
            public string? lpRemoteName;
            public string? lpComment;
            public string? lpProvider;
        }

        [DllImport("mpr.dll", CharSet = CharSet.Unicode)]
        private static extern int WNetAddConnection2(NetResource netResource, string? password, string? username, int flags);

        [DllImport("mpr.dll", CharSet = CharSet.Unicode)]
        private static extern int WNetCancelConnection2(string name, int flags, [MarshalAs(UnmanagedType.Bool)] bool force);
    }
}
