using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NekkBackup.Core.Notify
{
    /// <summary>The body a webhook receives, per format: Json (NekkBackup's document), Teams (Adaptive Card), Slack (text + blocks).</summary>
    public static class WebhookPayload
    {
        public static string Build(string format, NotificationMessage m) => format switch
        {
            "Teams" => Teams(m).ToJsonString(),
            "Slack" => Slack(m).ToJsonString(),
            _ => Json(m).ToJsonString(),
        };

        public static JsonObject Json(NotificationMessage m)
        {
            var legs = new JsonArray();
            foreach (var l in m.Legs) legs.Add(new JsonObject { ["leg"] = l.Leg, ["step"] = l.Step, ["status"] = l.Status, ["detail"] = l.Detail });
            var rules = new JsonArray();
            foreach (var r in m.FailingRules) rules.Add(r);
            return new JsonObject
            {
                ["source"] = "NekkBackup", ["kind"] = m.Kind, ["host"] = m.Host, ["plan"] = m.Plan, ["status"] = m.Status, ["title"] = m.Title,
                ["reason"] = m.Reason, ["nextStep"] = m.NextStep, ["legs"] = legs, ["compliant"] = m.Compliant, ["failingRules"] = rules,
                ["time"] = m.TimeUtc.ToString("o"), ["runId"] = m.RunId,
            };
        }

        /// <summary>A message with one Adaptive Card, the shape a Teams "when a webhook request is received" workflow posts.</summary>
        public static JsonObject Teams(NotificationMessage m)
        {
            var facts = new JsonArray
            {
                Fact("Host", m.Host), Fact("Plan", m.Plan), Fact("Status", m.Status),
            };
            foreach (var l in m.Legs) facts.Add(Fact("Leg " + l.Leg, $"{l.Step}: {l.Status}{(l.Detail != null ? " — " + l.Detail : "")}"));
            if (m.Reason.Length > 0) facts.Add(Fact("Reason", m.Reason));
            if (m.Compliant != null) facts.Add(Fact("3-2-1", m.Compliant.Value ? "compliant" : "not compliant: " + string.Join(", ", m.FailingRules)));
            var card = new JsonObject
            {
                ["type"] = "AdaptiveCard", ["version"] = "1.4",
                ["body"] = new JsonArray
                {
                    new JsonObject { ["type"] = "TextBlock", ["size"] = "Medium", ["weight"] = "Bolder", ["wrap"] = true, ["text"] = m.Title },
                    new JsonObject { ["type"] = "FactSet", ["facts"] = facts },
                    new JsonObject { ["type"] = "TextBlock", ["wrap"] = true, ["text"] = "Next step: " + m.NextStep },
                },
            };
            return new JsonObject
            {
                ["type"] = "message",
                ["summary"] = m.Title,
                ["attachments"] = new JsonArray { new JsonObject { ["contentType"] = "application/vnd.microsoft.card.adaptive", ["content"] = card } },
            };
        }

        /// <summary>A Slack incoming-webhook message: text (escaped the way Slack requires: &amp; &lt; &gt;) and blocks.</summary>
        public static JsonObject Slack(NotificationMessage m)
        {
            var lines = new[] { $"*Host:* {E(m.Host)}", $"*Plan:* {E(m.Plan)}", $"*Status:* {E(m.Status)}" }
                .Concat(m.Legs.Select(l => $"*Leg {E(l.Leg)}:* {E(l.Step)}: {E(l.Status)}{(l.Detail != null ? " — " + E(l.Detail) : "")}"))
                .Concat(m.Reason.Length > 0 ? new[] { $"*Reason:* {E(m.Reason)}" } : new string[0])
                .Concat(new[] { $"*Next step:* {E(m.NextStep)}" });
            return new JsonObject
            {
                ["text"] = E(m.Title),
                ["blocks"] = new JsonArray
                {
                    new JsonObject { ["type"] = "section", ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = "*" + E(m.Title) + "*" } },
                    new JsonObject { ["type"] = "section", ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = string.Join("\n", lines) } },
                },
            };
        }

        private static JsonObject Fact(string title, string value) => new() { ["title"] = title, ["value"] = value };

        private static string E(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
    }
}
