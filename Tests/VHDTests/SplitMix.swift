import TestSupport

/// The VHD tests' seeded generator (`SplitMix64`), so failures reproduce.
typealias SplitMix = SplitMix64
