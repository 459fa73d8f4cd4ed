import Foundation
import Testing
import VHD
import VHDFormat
import VHDUtilCommands

@Suite struct ReadTests {
    /// VHD.md's verbatim `read -p` of a differencing child of a 100 MiB `x.vhd`, observed with
    /// blktap. Same UUIDs and timestamps give the same checksums, so this pins every byte.
    static let observedChildDump = """
        VHD Footer Summary:
        -------------------
        Cookie              : conectix
        Features            : (0x00000002) <RESV>
        File format version : Major: 1, Minor: 0
        Data offset         : 512
        Timestamp           : Sat Nov 21 15:48:04 2026
        Creator Application : 'tap'
        Creator version     : Major: 1, Minor: 3
        Creator OS          : Unknown!
        Original disk size  : 100 MB (104857600 Bytes)
        Current disk size   : 100 MB (104857600 Bytes)
        Geometry            : Cyl: 1003, Hds: 12, Sctrs: 17
                            : = 99 MB (104761344 Bytes)
        Disk type           : Differencing hard disk
        Checksum            : 0xfffff0b1|0xfffff0b1 (Good!)
        UUID                : b81f19f6-4fd3-448e-990c-2818de067ff3
        Saved state         : No
        Hidden              : 0

        VHD Header Summary:
        -------------------
        Cookie              : cxsparse
        Data offset (unusd) : 18446744073709551615
        Table offset        : 1536
        Header version      : 0x00010000
        Max BAT size        : 50
        Block size          : 2097152 (2 MB)
        Parent name         : x.vhd
        Parent UUID         : 9066fab9-8063-4c0c-ad47-7c022c3084c0
        Parent timestamp    : Sat Nov 21 15:48:04 2026
        Checksum            : 0xffffe4d8|0xffffe4d8 (Good!)

        VHD Parent Locators:
        --------------------
        locator:            : 0
               code         : PLAT_CODE_MACX
               data_space   : 512
               data_length  : 14
               data_offset  : 3072
               decoded name : ./x.vhd

        """

    @Test func headersOfADifferencingDiskMatchBlktapsObservedOutput() throws {
        let workspace = try Workspace()
        try workspace.create("x.vhd", megabytes: 100)
        try workspace.child("c.vhd", of: "x.vhd", megabytes: 100)
        let run = vhdUtil("read", "-p", "-n", workspace.path("c.vhd"))
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix(Self.observedChildDump))
        #expect(run.stdout.hasSuffix("""
            VHD Batmap Summary:
            -------------------
            Batmap offset       : 2560
            Batmap size (secs)  : 1
            Batmap version      : 0x00010002
            Checksum            : 0xffffffff|0xffffffff (Good!)


            """))
    }
}
