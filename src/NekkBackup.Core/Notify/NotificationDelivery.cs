using System;

namespace NekkBackup
{
    /// <summary>What Send-NekkBackupNotification (and a run's alert) did for one channel.</summary>
    public sealed class NotificationDelivery
    {
        /// <summary>"webhook 'name' (Format)" or "e-mail via server:port" — never the URL.</summary>
        public string Channel { get; init; } = "";
        /// <summary>Webhook or Email.</summary>
        public string Kind { get; init; } = "";
        /// <summary>Failure, Change, Run, Test or Status.</summary>
        public string Message { get; init; } = "";
        public bool Delivered { get; init; }
        public int Attempts { get; init; }
        public TimeSpan Duration { get; init; }
        /// <summary>The subject sent, or why it was not delivered.</summary>
        public string Detail { get; init; } = "";

        public override string ToString() => $"{Channel}: {(Delivered ? "delivered" : "NOT delivered")}";
    }
}
