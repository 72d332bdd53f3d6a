using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;

namespace NekkBackup.Core.Notify
{
    /// <summary>
    /// Sends one message to one channel. Secrets (the webhook URL, the SMTP password) are read from the credential store
    /// at send time and never appear in an error: every failure becomes a NekkBackupException whose message names the
    /// channel and the kind of fault only, with IsTransient set for what a retry may cure.
    /// </summary>
    internal static class NotifyChannels
    {
        private static readonly HttpClient Http = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };

        /// <summary>Test-only trust hook for the SMTP server's certificate (internal: no plan or setting reaches it). Null: the platform's trust store.</summary>
        internal static RemoteCertificateValidationCallback? TestCertificateValidation { get; set; }

        public static string Describe(WebhookSettings w) => $"webhook '{w.Name}' ({w.Format})";

        public static string Describe(SmtpSettings s) => $"e-mail via {s.Server}:{s.Port}";

        public static async Task SendWebhookAsync(WebhookSettings w, NotificationMessage m, CancellationToken ct)
        {
            var channel = Describe(w);
            var cred = CredentialStore.TryGet(w.CredentialTarget)
                ?? throw Permanent("NotificationNotConfigured", $"{channel}: no URL is stored for it; run Set-NekkCredential -Target {w.CredentialTarget} -Secret (Read-Host -AsSecureString 'Webhook URL')");
            if (!Uri.TryCreate(cred.Secret.Trim(), UriKind.Absolute, out var uri)
                || !(uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback))
                throw Permanent("NotificationNotConfigured", $"{channel}: the stored URL is not an https:// address (plain http is accepted only on this machine's loopback)");
            using var content = new StringContent(WebhookPayload.Build(w.Format, m), Encoding.UTF8, "application/json");
            HttpResponseMessage response;
            try { response = await Http.PostAsync(uri, content, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
            catch (Exception ex) when (ex is HttpRequestException || ex is IOException || ex is TaskCanceledException)
            {
                throw Transient($"{channel}: {ConnectionFault(ex)}");
            }
            using (response)
            {
                var code = (int)response.StatusCode;
                if (code >= 200 && code < 300) return;
                var e = $"{channel}: the receiver answered HTTP {code} {response.ReasonPhrase}";
                if (code == 429 || code >= 500) throw Transient(e);
                throw Permanent("NotificationRefused", e + (code == 404 || code == 401 || code == 403 ? " (is the stored URL still valid?)" : ""));
            }
        }

        public static async Task SendMailAsync(SmtpSettings s, NotificationMessage m, CancellationToken ct)
        {
            var channel = Describe(s);
            var cred = CredentialStore.TryGet(s.CredentialTarget);
            var mail = new MimeMessage();
            mail.From.Add(MailboxAddress.Parse(s.From));
            foreach (var to in s.To) mail.To.Add(MailboxAddress.Parse(to));
            mail.Subject = m.Title;
            mail.Headers.Add("X-NekkBackup-Host", m.Host);
            mail.Body = new TextPart("plain") { Text = m.Text() };
            using var client = new SmtpClient { Timeout = 15000 };
            if (TestCertificateValidation != null) client.ServerCertificateValidationCallback = TestCertificateValidation;
            try
            {
                // STARTTLS or nothing: a server that does not offer it gets no message (and no password).
                await client.ConnectAsync(s.Server, s.Port, SecureSocketOptions.StartTls, ct).ConfigureAwait(false);
                if (cred != null) await client.AuthenticateAsync(cred.UserName, cred.Secret, ct).ConfigureAwait(false);
                await client.SendAsync(mail, ct).ConfigureAwait(false);
                await client.DisconnectAsync(true, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
            catch (SslHandshakeException)
            {
                throw Permanent("NotificationTls", $"{channel}: the TLS handshake failed; the server's certificate is not trusted by this machine's certificate store (or names another host)");
            }
            catch (MailKit.Security.AuthenticationException)
            {
                throw Permanent("NotificationRefused", $"{channel}: the server refused the account stored as {s.CredentialTarget} (Set-NekkCredential -Target {s.CredentialTarget})");
            }
            catch (NotSupportedException)
            {
                throw Permanent("NotificationTls", $"{channel}: the server does not offer STARTTLS, and NekkBackup never sends mail unencrypted");
            }
            catch (SmtpCommandException ex)
            {
                var e = $"{channel}: the server answered {(int)ex.StatusCode} to {ex.ErrorCode}";
                if ((int)ex.StatusCode >= 400 && (int)ex.StatusCode < 500) throw Transient(e);
                throw Permanent("NotificationRefused", e);
            }
            catch (Exception ex) when (ex is SmtpProtocolException || ex is IOException || ex is SocketException || ex is ServiceNotConnectedException || ex is TimeoutException)
            {
                throw Transient($"{channel}: {ConnectionFault(ex)}");
            }
        }

        private static string ConnectionFault(Exception ex)
        {
            for (var e = ex; e != null; e = e.InnerException)
            {
                if (e is SocketException se) return "could not connect (" + se.SocketErrorCode + ")";
                if (e is TimeoutException || e is TaskCanceledException) return "timed out";
                if (e is System.Security.Authentication.AuthenticationException) return "the TLS handshake failed (certificate not trusted)";
            }
            return "the connection failed (" + ex.GetType().Name + ")";
        }

        private static NekkBackupException Transient(string message) =>
            new("NotificationFailed", FailureKind.ConnectionError, message) { IsTransient = true };

        private static NekkBackupException Permanent(string reason, string message) =>
            new(reason, FailureKind.ConnectionError, message);
    }
}
