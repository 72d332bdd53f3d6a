using System.Collections.Generic;
using System.Management.Automation;
using System.Threading.Tasks;
using NekkBackup.Commands.Plans;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Notify;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Plans;

namespace NekkBackup.Commands.Reports
{
    /// <summary>
    /// Send-NekkBackupNotification: sends a message to every channel of the plan's Notify key — with -Test a test
    /// message, otherwise the current 3-2-1 verdict — and reports per channel whether it was delivered.
    /// </summary>
    [Cmdlet(VerbsCommunications.Send, "NekkBackupNotification", SupportsShouldProcess = true)]
    [OutputType(typeof(NotificationDelivery))]
    public sealed class SendNekkBackupNotificationCommand : PlanCmdletBase
    {
        /// <summary>Send a test message (proves the stored webhook URL / SMTP account work) instead of the current verdict.</summary>
        [Parameter]
        public SwitchParameter Test { get; set; }

        protected override void ProcessRecord()
        {
            var plan = LoadPlan();
            var notify = plan.Notify;
            if (notify == null)
            {
                Terminate(new NekkBackupException("NotifyNotConfigured", FailureKind.InvalidOperation,
                    $"The plan '{plan.Name}' has no Notify key; add one (docs/plan-schema.md, 'Notify') to {plan.Path}.", plan.Path));
                return;
            }
            if (!ShouldProcess(notify.ToString(), Test ? "Send a test message" : "Send the current 3-2-1 verdict")) return;
            var deliveries = Run(async (observer, ct) =>
            {
                using var log = RunLog.Open(RunLog.NewRunId(), "Send-NekkBackupNotification");
                var obs = log.Wrap(new QuietObserver(observer));
                NotificationMessage message;
                if (Test) message = NotificationMessage.ForTest(plan);
                else
                {
                    var evidence = await PlanLegRegistry.GatherAsync(plan, ct).ConfigureAwait(false);
                    message = NotificationMessage.ForStatus(plan, ComplianceEvaluator.Evaluate(plan, evidence, System.DateTime.Now));
                }
                return await Notifier.SendAsync(notify, message, log, obs, ct).ConfigureAwait(false);
            }, plan.Path);
            foreach (var d in deliveries)
            {
                WriteObject(d);
                if (!d.Delivered)
                    WriteNekkError(new NekkBackupException("NotificationFailed", FailureKind.ConnectionError, d.Detail, d.Channel), d.Channel);
            }
        }
    }
}
