import Glibc
import Testing

@testable import SM

/// The driver-side helpers of the SM core: mount table, probe XML, plugin names, xapi time,
/// host paths and external tools.
@Suite struct DriverSupportTests {
    @Test func mountInfoLinesDecodeWithEscapesAndOptionalFields() throws {
        let line =
            "36 35 98:0 /mnt1 /var/run/sr-mount/with\\040space rw,noatime master:1 shared:2 - ext4 /dev/loop0 rw,errors=continue"
        let entry = try #require(MountTable.parse(line[...]))
        #expect(entry.mountPoint == "/var/run/sr-mount/with space")
        #expect(entry.source == "/dev/loop0")
        #expect(entry.fileSystemType == "ext4")
        #expect(MountTable.parse("garbage"[...]) == nil)
        #expect(MountTable.parse("1 2 3 4 5 6 7"[...]) == nil)
        #expect(MountTable.isMountPoint("/proc"))
        #expect(!MountTable.isMountPoint("/proc/self"))
    }

    @Test func probeXMLIsMinidomsPrettyPrint() {
        #expect(ProbeXML.srList([]) == "<?xml version=\"1.0\" ?>\n<SRlist/>\n")
        let entry = ProbeXML.SREntry([("UUID", "u"), ("Devlist", "/a&b<\"c\">"), ("size", "")])
        #expect(
            ProbeXML.srList([entry, entry])
                == "<?xml version=\"1.0\" ?>\n<SRlist>\n\t<SR>\n\t\t<UUID>u</UUID>\n\t\t<Devlist>/a&amp;b&lt;&quot;c&quot;&gt;</Devlist>\n\t\t<size></size>\n\t</SR>\n\t<SR>\n\t\t<UUID>u</UUID>\n\t\t<Devlist>/a&amp;b&lt;&quot;c&quot;&gt;</Devlist>\n\t\t<size></size>\n\t</SR>\n</SRlist>\n"
        )
    }

    @Test func pluginNamesFollowTheReference() {
        #expect(SRDriverNames.pluginName(forType: "ext") == "EXTSR")
        #expect(SRDriverNames.pluginName(forType: "nfs") == "NFSSR")
        #expect(SRDriverNames.pluginName(forType: "lvmoiscsi") == "LVMoISCSISR")
        #expect(SRDriverNames.type(forPluginName: "LVMoISCSISR") == "lvmoiscsi")
        #expect(SRDriverNames.type(forPluginName: "EXTSR") == "ext")
        #expect(SRDriverNames.type(forPluginName: "SR") == nil)
        #expect(SRDriverNames.type(forPluginName: "sm") == nil)
    }

    @Test func xapiTimeIsBasicISO8601InUTC() {
        #expect(XapiTime.format(0) == VDIRecord.neverSnapshotted)
        #expect(XapiTime.format(1_700_000_000) == "20231114T22:13:20Z")
        #expect(XapiTime.now().count == 18)
    }

    @Test func hostPathsFollowTheEnvironmentAndTheUser() {
        let root = HostPaths.fromEnvironment([:], isRoot: true)
        #expect(
            root
                == HostPaths(
                    lockDirectory: "/var/lock/sm", refcountDirectory: "/var/run/sm/refcount",
                    mountBase: "/var/run/sr-mount", stateDirectory: "/var/lib/swift-sm"))
        let user = HostPaths.fromEnvironment(["XDG_RUNTIME_DIR": "/run/user/7", "HOME": "/home/u"], isRoot: false)
        #expect(user.lockDirectory == "/run/user/7/swift-sm/lock")
        #expect(user.mountBase == "/run/user/7/swift-sm/sr-mount")
        #expect(user.stateDirectory == "/home/u/.local/state/swift-sm")
        #expect(user.datapathDirectory == "/run/user/7/swift-sm/nbd")
        #expect(root.datapathDirectory == "/var/run/sm/nbd")
        let overridden = HostPaths.fromEnvironment(
            ["SM_LOCK_DIR": "/l", "SM_REFCOUNT_DIR": "/r", "SM_MOUNT_BASE": "/m", "SM_STATE_DIR": "/s", "SM_DATAPATH_DIR": "/d"],
            isRoot: true)
        #expect(
            overridden
                == HostPaths(
                    lockDirectory: "/l", refcountDirectory: "/r", mountBase: "/m", stateDirectory: "/s",
                    datapathDirectory: "/d"))
        #expect(HostPaths(lockDirectory: "/l", refcountDirectory: "/x/r", mountBase: "/m", stateDirectory: "/s").datapathDirectory == "/x/nbd")
    }

    @Test func externalCommandsReportStatusAndOutput() {
        let echo = ExternalCommand("sh", ["-c", "echo out; echo err >&2; exit 3"]).run()
        #expect(echo.status == 3 && echo.output.contains("out") && echo.output.contains("err"))
        #expect(ExternalCommand("true", []).run().succeeded)
        let missing = ExternalCommand("no-such-tool-\(getpid())", []).run()
        #expect(missing.status == 127 && missing.output.contains("command not found"))
        let chatty = ExternalCommand("sh", ["-c", "head -c 1000000 /dev/zero | tr '\\0' x"]).run()
        #expect(chatty.succeeded, "a tool printing more than a pipe holds must not block")
        #expect(chatty.output.utf8.count == ExternalCommand.outputLimit)
        let killed = ExternalCommand("sh", ["-c", "kill -9 $$"]).run()
        #expect(killed.status == 128 + 9)
    }
}
