namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// The one place optional engines are wired into plans. When the Ghost image engine (Core/Imaging) and the cloud
    /// engine (Core/Cloud) are in the build, this registers their ILegRunner / ILegEvidenceSource adapters.
    /// </summary>
    internal static partial class LegWiring
    {
        public static void RegisterOptionalLegs()
        {
            RegisterImage();
            RegisterCloud();
        }

        static partial void RegisterImage();

        static partial void RegisterCloud();
    }
}
