import ArgumentParser

/// `sm`, the admin CLI: xe-style verbs with `key=value` parameters, tables by default and JSON
/// with `--json`. Invoked as `<Type>SR` the same binary is the SMAPIv1 plugin instead
/// (`SMEntryPoint`).
public struct SMCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sm",
        abstract: "Storage manager: SRs of thin VHD disks with snapshots and clones.",
        discussion: """
            SRs this host has attached are remembered in $SM_STATE_DIR/registry.json (root: \
            /var/lib/swift-sm). Run as EXTSR (see install-plugins) it speaks SMAPIv1 instead.
            """,
        subcommands: [
            SRCreateCommand.self, SRListCommand.self, SRProbeCommand.self, SRScanCommand.self, SRAttachCommand.self,
            SRDetachCommand.self, SRDestroyCommand.self, SRGCCommand.self, VDICreateCommand.self, VDIListCommand.self,
            VDISnapshotCommand.self, VDICloneCommand.self, VDIRevertCommand.self, VDIResizeCommand.self,
            VDIDestroyCommand.self, VDIImportCommand.self, VDIExportCommand.self, VDIAttachCommand.self,
            VDIDetachCommand.self, VDIStatsCommand.self, InstallPluginsCommand.self, SRUpkeepCommand.self,
        ])

    public init() {}
}
