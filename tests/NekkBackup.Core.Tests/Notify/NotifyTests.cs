using System;
using System.Collections;
using System.Linq;
using System.Text.Json;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Notify;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Tests.Plans;
using Xunit;

namespace NekkBackup.Core.Tests.Notify
{
    /// <summary>The Notify key, when a run sends a message, and what each webhook format carries.</summary>
    public class NotifyTests
    {
        private static BackupPlan Plan(Hashtable notify)
        {
            var h = PlanTestData.Full();
            h["Notify"] = notify;
            return PlanParser.Parse(h, "/plans/studio-a.psd1");
        }

        [Fact]
        public void Notify_key_names_channels_only()
        {
            var p = Plan(new Hashtable
            {
                ["When"] = "change",
                ["Webhook"] = new object[] { new Hashtable { ["Name"] = "studio-teams", ["Format"] = "teams" }, new Hashtable { ["Name"] = "raw" } },
                ["Smtp"] = new Hashtable { ["Server"] = "smtp.office365.com", ["From"] = "backup@studio.example", ["To"] = new object[] { "owner@studio.example", "Studio IT <it@studio.example>" } },
            });
            Assert.Equal("Change", p.Notify!.When);
            Assert.Equal(new[] { "Teams", "Json" }, p.Notify.Webhooks.Select(w => w.Format));
            Assert.Equal("webhook:studio-teams", p.Notify.Webhooks[0].CredentialTarget);
            Assert.Equal(587, p.Notify.Smtp!.Port);
            Assert.Equal("smtp:smtp.office365.com", p.Notify.Smtp.CredentialTarget);
        }

        [Theory]
        [InlineData("Url", "Notify.Webhook.Url", "looks like a secret")]
        [InlineData("Password", "Notify.Webhook.Password", "looks like a secret")]
        [InlineData("Colour", "Notify.Webhook.Colour", "is not a known key")]
        public void Secrets_and_unknown_keys_in_a_webhook_are_refused(string key, string label, string problem)
        {
            var ex = Assert.Throws<NekkBackupException>(() => Plan(new Hashtable { ["Webhook"] = new Hashtable { ["Name"] = "x", [key] = "v" } }));
            Assert.Equal("NekkBackup.InvalidPlan", ex.ErrorId);
            Assert.Contains($"key '{label}' {problem}", ex.Message);
        }

        [Theory]
        [InlineData("When", "Sometimes", "Notify.When")]
        [InlineData("Webhook", "just-a-string", "Notify.Webhook")]
        public void Bad_values_name_the_key(string key, string value, string label)
        {
            var t = new Hashtable { ["Webhook"] = new Hashtable { ["Name"] = "x" } };
            t[key] = value;
            var ex = Assert.Throws<NekkBackupException>(() => Plan(t));
            Assert.Contains($"key '{label}'", ex.Message);
        }

        [Fact]
        public void Smtp_addresses_and_a_channel_are_required()
        {
            var ex = Assert.Throws<NekkBackupException>(() => Plan(new Hashtable { ["Smtp"] = new Hashtable { ["Server"] = "mail", ["From"] = "not an address", ["To"] = "a@b.c" } }));
            Assert.Contains("key 'Notify.Smtp.From' holds 'not an address', which is not an e-mail address", ex.Message);
            ex = Assert.Throws<NekkBackupException>(() => Plan(new Hashtable { ["When"] = "Always" }));
            Assert.Contains("names no channel", ex.Message);
        }

        private static PlanRunResult Run(string status, params (string job, string step, string st)[] steps) => new()
        {
            Plan = "studio-a", Host = "room1", Status = status, Requested = "Due", RunId = "r",
            Jobs = steps.Select(s => new PlanHistoryEntry { Job = s.job, Step = s.step, Status = s.st, Detail = "why " + s.job }).ToList(),
        };

        [Theory]
        [InlineData("Failure", "Failed", false, "Failure")]
        [InlineData("Failure", "Succeeded", true, null)]
        [InlineData("Change", "Succeeded", true, "Change")]
        [InlineData("Change", "Succeeded", false, null)]
        [InlineData("Change", "Refused", false, "Failure")]
        [InlineData("Always", "Succeeded", false, "Run")]
        [InlineData("Always", "NothingDue", false, null)]
        public void When_decides_which_runs_send_a_message(string when, string status, bool changed, string? expected)
        {
            var before = new ComplianceSnapshot { Compliant = true };
            var now = new ComplianceSnapshot { Compliant = !changed };
            Assert.Equal(expected, Notifier.Trigger(when, Run(status, ("Folder", "Backup", status)), before, now));
        }

        [Fact]
        public void A_run_refused_by_the_plan_lock_sends_nothing_but_an_unreachable_one_does()
        {
            Assert.Null(Notifier.Trigger("Failure", Run("Refused"), null, null));
            Assert.Equal("Failure", Notifier.Trigger("Failure", Run("Unreachable"), null, null));
        }

        [Fact]
        public void Message_names_host_plan_leg_reason_and_next_step_in_every_format()
        {
            var plan = Plan(new Hashtable { ["Webhook"] = new Hashtable { ["Name"] = "x" } });
            var run = Run("Failed", ("Folder", "Backup", "Succeeded"), ("Cloud", "Upload", "Failed"));
            var m = NotificationMessage.ForRun(plan, new PlanRunResult
            {
                Plan = run.Plan, Host = "studio-a", Status = run.Status, Jobs = run.Jobs, Requested = "Due", RunId = "r", Reason = "Cloud Upload Failed: <timeout> & more",
            }, null, "Failure");
            Assert.Equal($"NekkBackup: {plan.Host} backup failed (Cloud) — plan studio-a", m.Title);
            Assert.Equal("Cloud", m.Legs.Single().Leg);
            Assert.Contains("-Job Cloud", m.NextStep);
            var text = m.Text();
            Assert.Contains("Leg: Cloud Upload — Failed: why Cloud", text);
            Assert.Contains("Reason: Cloud Upload Failed: <timeout> & more", text);

            using var json = JsonDocument.Parse(WebhookPayload.Build("Json", m));
            Assert.Equal(plan.Host, json.RootElement.GetProperty("host").GetString());
            Assert.Equal("Cloud", json.RootElement.GetProperty("legs")[0].GetProperty("leg").GetString());
            using var teams = JsonDocument.Parse(WebhookPayload.Build("Teams", m));
            var card = teams.RootElement.GetProperty("attachments")[0].GetProperty("content");
            Assert.Equal("AdaptiveCard", card.GetProperty("type").GetString());
            Assert.Contains(card.GetProperty("body")[1].GetProperty("facts").EnumerateArray(), f => f.GetProperty("title").GetString() == "Reason");
            using var slack = JsonDocument.Parse(WebhookPayload.Build("Slack", m));
            var blocks = slack.RootElement.GetProperty("blocks")[1].GetProperty("text").GetProperty("text").GetString()!;
            Assert.Contains("*Reason:* Cloud Upload Failed: &lt;timeout&gt; &amp; more", blocks);
        }

        [Theory]
        [InlineData("webhook:x", "https://prod-12.westeurope.logic.azure.com/workflows/abc", true)]
        [InlineData("webhook:x", "http://127.0.0.1:8080/hook", true)]
        [InlineData("webhook:x", "http://192.0.2.10/hook", false)]
        [InlineData("webhook:x", "not a url", false)]
        [InlineData("smtp:smtp.example.com", "pw", true)]
        public void Stored_webhook_secrets_must_be_https_urls(string target, string secret, bool ok)
        {
            if (ok) NotifySecrets.Validate(target, secret);
            else
            {
                var ex = Assert.Throws<NekkBackupException>(() => NotifySecrets.Validate(target, secret));
                Assert.DoesNotContain(secret, ex.Message);
            }
        }
    }
}
