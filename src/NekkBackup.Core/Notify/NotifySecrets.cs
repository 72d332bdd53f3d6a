using System;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Notify
{
    /// <summary>Checks a secret for a notification target before Set-NekkCredential stores it (the message never repeats the secret).</summary>
    public static class NotifySecrets
    {
        public static void Validate(string normalizedTarget, string secret)
        {
            if (normalizedTarget.StartsWith("webhook:", StringComparison.Ordinal))
            {
                if (!Uri.TryCreate(secret.Trim(), UriKind.Absolute, out var uri)
                    || !(uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback))
                    throw Fail.Argument("InvalidWebhookUrl",
                        $"The secret for '{normalizedTarget}' must be the webhook's https:// URL (plain http only to this machine's loopback); it was not.", normalizedTarget);
            }
            else if (normalizedTarget.StartsWith("smtp:", StringComparison.Ordinal) && Uri.CheckHostName(normalizedTarget.Substring(5)) == UriHostNameType.Unknown)
                throw Fail.Argument("InvalidTarget", $"'{normalizedTarget}' must be smtp:<server host name>, as in the plan's Notify.Smtp.Server.", normalizedTarget);
        }
    }
}
