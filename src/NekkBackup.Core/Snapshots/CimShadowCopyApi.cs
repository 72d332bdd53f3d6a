using System;
using System.Linq;
using Microsoft.Management.Infrastructure;
using Microsoft.Management.Infrastructure.Options;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>
    /// Win32_ShadowCopy through Microsoft.Management.Infrastructure (compile-time reference only: Windows
    /// PowerShell 5.1 and PowerShell 7 on Windows load their own copy). Only instantiated on Windows.
    /// Every call forces the 64-bit provider (__ProviderArchitecture=64, __RequiredArchitecture=true) so a
    /// 32-bit host is not served by a WOW64 provider (windows-notes.md §1.5).
    /// </summary>
    public sealed class CimShadowCopyApi : ICimShadowCopyApi
    {
        private const string Namespace = @"root\cimv2";
        private const string ClassName = "Win32_ShadowCopy";
        private const int WbemProviderLoadFailure = unchecked((int)0x80041013);

        private readonly CimSession _session;

        public CimShadowCopyApi()
        {
            _session = CimSession.Create(null);
        }

        private static CimOperationOptions Options()
        {
            var o = new CimOperationOptions();
            o.SetCustomOption("__ProviderArchitecture", 64, mustComply: true);
            o.SetCustomOption("__RequiredArchitecture", true, mustComply: true);
            return o;
        }

        public VssCreateResult Create(string volume, string context)
        {
            try
            {
                using var opts = Options();
                using var p = new CimMethodParametersCollection
                {
                    CimMethodParameter.Create("Volume", volume, CimType.String, CimFlags.In),
                    CimMethodParameter.Create("Context", context, CimType.String, CimFlags.In),
                };
                using var r = _session.InvokeMethod(Namespace, ClassName, "Create", p, opts);
                uint rc = Convert.ToUInt32(r.ReturnValue.Value, System.Globalization.CultureInfo.InvariantCulture);
                string? id = r.OutParameters["ShadowID"]?.Value as string;
                return new VssCreateResult(rc, id);
            }
            catch (CimException ex)
            {
                throw Map(ex, volume);
            }
        }

        public VssShadowInfo? Get(string shadowId)
        {
            var inst = Find(shadowId);
            if (inst == null) return null;
            using (inst)
            {
                string Prop(string n) => inst.CimInstanceProperties[n]?.Value as string ?? "";
                var install = inst.CimInstanceProperties["InstallDate"]?.Value as DateTime?;
                return new VssShadowInfo(Prop("ID"), Prop("DeviceObject"), Prop("VolumeName"), install);
            }
        }

        public bool Delete(string shadowId)
        {
            var inst = Find(shadowId);
            if (inst == null) return false;
            using (inst)
            {
                try
                {
                    using var opts = Options();
                    _session.DeleteInstance(Namespace, inst, opts);
                    return true;
                }
                catch (CimException ex)
                {
                    throw Map(ex, shadowId);
                }
            }
        }

        private CimInstance? Find(string shadowId)
        {
            if (!VssPaths.IsShadowId(shadowId))
                throw Fail.Argument("InvalidSnapshotId", $"'{shadowId}' is not a shadow copy id ({{GUID}}).", shadowId);
            try
            {
                using var opts = Options();
                return _session.QueryInstances(Namespace, "WQL", $"SELECT * FROM {ClassName} WHERE ID='{shadowId}'", opts).FirstOrDefault();
            }
            catch (CimException ex)
            {
                throw Map(ex, shadowId);
            }
        }

        private static NekkBackupException Map(CimException ex, object target)
        {
            if (ex.HResult == WbemProviderLoadFailure || WmiErrorCode(ex) == unchecked((uint)WbemProviderLoadFailure))
                return new NekkBackupException("SnapshotArchitectureMismatch", FailureKind.NotSupported,
                    "The 64-bit VSS WMI provider could not be loaded for this process. " + VssHostCheck.Wow64Note, target, ex);
            if (ex.NativeErrorCode == NativeErrorCode.AccessDenied)
                return new NekkBackupException("SnapshotAccessDenied", FailureKind.PermissionDenied, "Access to the VSS WMI provider is denied: run elevated.", target, ex);
            return new NekkBackupException("SnapshotProviderFailure", FailureKind.InvalidOperation, $"CIM call to Win32_ShadowCopy failed: {ex.Message}", target, ex);
        }

        /// <summary>The WBEM HRESULT carried in the MSFT_WmiError instance (error_Code), if any.</summary>
        private static uint? WmiErrorCode(CimException ex)
        {
            try
            {
                var v = ex.ErrorData?.CimInstanceProperties["error_Code"]?.Value;
                return v == null ? null : Convert.ToUInt32(v, System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (Exception)
            {
                return null;
            }
        }

        public void Dispose() => _session.Dispose();
    }
}
