/// How a container's volumes get their space.
public enum VolumeProvisioning: Hashable, Sendable {
    /// A volume grows as it is written (a sparse file): created empty, never inflated.
    case growOnWrite
    /// A volume has the size it was given, allocated in whole `unit`s (an LV: its VG's extent
    /// size). A VHD on it keeps its footer in the last sector, and the engine inflates the
    /// volume before the VHD may need more and deflates it once read-only (LVHD's
    /// `inflate`/`deflate`).
    case fixed(unit: UInt64)

    /// `size` rounded up to whole units (unchanged for growable volumes).
    public func rounded(_ size: UInt64) -> UInt64 {
        guard case .fixed(let unit) = self, unit > 0 else { return size }
        return (size + unit - 1) / unit * unit
    }
}
