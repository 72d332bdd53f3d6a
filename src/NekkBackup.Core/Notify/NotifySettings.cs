using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using MimeKit;

namespace NekkBackup.Core.Notify
{
    /// <summary>
    /// A plan's Notify key (docs/plan-schema.md): when to send, and where. Holds names only: a webhook's URL and an
    /// SMTP password are secrets kept by Set-NekkCredential (targets webhook:&lt;Name&gt; and smtp:&lt;Server&gt;).
    /// </summary>
    public sealed class NotifySettings
    {
        public static readonly string[] WhenValues = { "Failure", "Change", "Always" };
        public static readonly string[] Formats = { "Json", "Teams", "Slack" };
        private static readonly string[] Keys = { "When", "Webhook", "Smtp" };
        private static readonly string[] WebhookKeys = { "Name", "Format" };
        private static readonly string[] SmtpKeys = { "Server", "Port", "From", "To" };
        private static readonly Regex NamePattern = new("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant);

        /// <summary>Failure (a run failed, was refused or could not reach its destination), Change (that, or the compliance verdict changed), Always (every run that did something).</summary>
        public string When { get; init; } = "Failure";
        public IReadOnlyList<WebhookSettings> Webhooks { get; init; } = Array.Empty<WebhookSettings>();
        public SmtpSettings? Smtp { get; init; }

        public override string ToString() =>
            $"{When}: " + string.Join(", ", Webhooks.Select(w => $"webhook {w.Name} ({w.Format})").Concat(Smtp != null ? new[] { $"e-mail via {Smtp.Server}" } : Array.Empty<string>()));

        /// <summary>Builds the settings from the plan's Notify table (null when the plan has none).</summary>
        public static NotifySettings? Parse(IDictionary? table, string? planPath)
        {
            if (table == null) return null;
            var p = new PlanSection(planPath);
            p.CheckKeys(table, Keys, "Notify.", "store webhook URLs and SMTP passwords with Set-NekkCredential -Target webhook:<name> or smtp:<server>");
            var when = p.Choice(table, "When", "Notify.When", WhenValues) ?? "Failure";
            var hooks = new List<WebhookSettings>();
            foreach (var w in p.Tables(table, "Webhook", "Notify.Webhook"))
            {
                p.CheckKeys(w, WebhookKeys, "Notify.Webhook.", "store the webhook URL with Set-NekkCredential -Target webhook:<Name> -Secret (Read-Host -AsSecureString)");
                var name = p.String(w, "Name", true, "Notify.Webhook.Name")!;
                if (!NamePattern.IsMatch(name))
                    throw p.Error("Notify.Webhook.Name", $"is '{name}'; use letters, digits, '.', '_' or '-' (it names the stored secret webhook:{name})");
                if (hooks.Any(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)))
                    throw p.Error("Notify.Webhook.Name", $"names '{name}' twice");
                hooks.Add(new WebhookSettings { Name = name, Format = p.Choice(w, "Format", "Notify.Webhook.Format", Formats) ?? "Json" });
            }
            SmtpSettings? smtp = null;
            var smtpTables = p.Tables(table, "Smtp", "Notify.Smtp");
            if (smtpTables.Count > 1) throw p.Error("Notify.Smtp", "must be one hashtable @{ Server = ...; From = ...; To = ... }");
            if (smtpTables.Count == 1)
            {
                var s = smtpTables[0];
                p.CheckKeys(s, SmtpKeys, "Notify.Smtp.", "store the SMTP account with Set-NekkCredential -Target smtp:<Server> -Credential <user>");
                var server = p.String(s, "Server", true, "Notify.Smtp.Server")!;
                if (Uri.CheckHostName(server) == UriHostNameType.Unknown)
                    throw p.Error("Notify.Smtp.Server", $"is '{server}', which is not a host name or address");
                var from = Address(p, p.String(s, "From", true, "Notify.Smtp.From")!, "Notify.Smtp.From");
                var to = p.Strings(s, "To", true, "Notify.Smtp.To")!.Select(a => Address(p, a, "Notify.Smtp.To")).ToArray();
                smtp = new SmtpSettings { Server = server, Port = p.Int(s, "Port", "Notify.Smtp.Port", 1, 65535) ?? 587, From = from, To = to };
            }
            if (hooks.Count == 0 && smtp == null)
                throw p.Error("Notify", "names no channel; give Webhook = @{ Name = ...; Format = ... } and/or Smtp = @{ Server = ...; From = ...; To = ... }");
            return new NotifySettings { When = when, Webhooks = hooks, Smtp = smtp };
        }

        private static string Address(PlanSection p, string text, string label)
        {
            if (!MailboxAddress.TryParse(ParserOptions.Default, text, out var m) || string.IsNullOrEmpty(m.Address) || m.Address.IndexOf('@') <= 0)
                throw p.Error(label, $"holds '{text}', which is not an e-mail address");
            return text;
        }
    }

    /// <summary>One webhook channel: its name (the stored secret webhook:&lt;Name&gt; holds the URL) and payload format.</summary>
    public sealed class WebhookSettings
    {
        public string Name { get; init; } = "";
        /// <summary>Json (NekkBackup's own document), Teams (an Adaptive Card for a Teams workflow) or Slack (incoming webhook).</summary>
        public string Format { get; init; } = "Json";
        public string CredentialTarget => "webhook:" + Name;
    }

    /// <summary>E-mail over SMTP with STARTTLS; the account (if the server wants one) is the stored secret smtp:&lt;Server&gt;.</summary>
    public sealed class SmtpSettings
    {
        public string Server { get; init; } = "";
        public int Port { get; init; } = 587;
        public string From { get; init; } = "";
        public string[] To { get; init; } = Array.Empty<string>();
        public string CredentialTarget => "smtp:" + Server;
    }
}
