using System;
using System.Collections.Generic;
using System.IO;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// Get-NekkFleetStatus -Path: the host status files under a folder, read through the stored-credential
    /// connection when the folder is on a NAS share (review W1: SYSTEM presents the computer account otherwise).
    /// </summary>
    public static class FleetFolder
    {
        /// <summary>Throws NekkBackup.PathNotFound when the folder is missing or the share unreachable, or the NAS connection's error.</summary>
        public static IReadOnlyList<FleetHostStatus> Read(string path, Action<string, Exception>? onError = null, DateTime? nowUtc = null)
        {
            using var connection = NasConnection.Open(path);
            if (!Directory.Exists(path))
                throw Fail.NotFound("PathNotFound", $"The fleet status folder '{path}' does not exist (or the share is unreachable; credential: {connection.CredentialSource}).", path);
            return FleetStatus.Read(path, nowUtc, onError);
        }
    }
}
