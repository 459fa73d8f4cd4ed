import BlockIO
import Testing
import VHD

@testable import SM

@Suite struct SRErrorTests {
    @Test func faultStringIsTheDescriptionAloneWithoutOpterr() {
        let error = SRError(.vdiMissing)
        #expect(error.faultCode == 144)
        #expect(error.faultString == "VDI could not be found")
    }

    @Test func faultStringAppendsOpterrInBrackets() {
        let error = SRError(.vdiSize, opterr: "3 TiB exceeds 2040 GiB")
        #expect(error.faultString == "VDI Invalid size [opterr=3 TiB exceeds 2040 GiB]")
        #expect(SRError(code: .srScan, opterr: "x").faultString == "The SR scan failed  [opterr=x]")
    }

    @Test func emptyOpterrStillAppearsAsSMPrintsIt() {
        #expect(SRError(.srNoSpace, opterr: "").faultString == "There is insufficient space [opterr=]")
    }

    @Test func causeStaysOutOfTheFaultButInTheDescription() {
        let error = SRError(.eio, opterr: "read /x", cause: "errno 5")
        #expect(!error.faultString.contains("errno 5"))
        #expect(error.description == "SR error 200 (EIO): General IO error [opterr=read /x] (cause: errno 5)")
    }

    @Test func namedKeyBuildsTheCatalogueErrorAndUnknownKeysReportAsSMDoes() {
        #expect(SRError.named("VDIInUse", opterr: "vbd").faultString == "The VDI is currently in use [opterr=vbd]")
        let unknown = SRError.named("NoSuchKey", opterr: "ignored")
        #expect(unknown.faultCode == 1)
        #expect(unknown.faultString == "Error reporting error, unknown key NoSuchKey")
    }

    @Test func genericExceptionsCarryTheirTextAlone() {
        let error = SRError.genericException("division by zero")
        #expect(error.faultCode == 1200)
        #expect(error.faultString == "division by zero")
    }

    @Test func failedCommandUsesTheCommandsCode() {
        let error = SRError.failedCommand("vdi_snapshot", reason: "Command vhd-util failed (x): No such file")
        #expect(error.faultCode == 82)
        #expect(error.faultString == "Failed to snapshot VDI [opterr=Command vhd-util failed (x): No such file]")
    }

    static let mappings: [(VHDError, String, Int32)] = [
        (.notFound(path: "a.vhd"), "vdi_snapshot", 144),
        (.noSpace(image: "a.vhd", needed: 10, available: 5), "vdi_create", 44),
        (.chainTooDeep(image: "a.vhd", depth: 31, limit: 30), "vdi_snapshot", 109),
        (.chainTooDeep(image: "a.vhd", depth: 31, limit: 30), "vdi_clone", 109),
        (.outOfRange(image: "a.vhd", offset: 0, count: 1, size: 0), "vdi_resize", 79),
        (.invalidArgument("size too large"), "vdi_resize", 79),
        (.invalidArgument("size too large"), "vdi_resize_online", 79),
        (.invalidArgument("block size"), "vdi_create", 78),
        (.outOfRange(image: "a.vhd", offset: 0, count: 1, size: 0), "vdi_snapshot", 82),
        (.invalid(image: "a.vhd", problem: "bad footer"), "vdi_clone", 81),
        (.readOnly(image: "a.vhd"), "vdi_activate", 46),
        (.io(.system(call: "pwrite", errno: 28, path: "a.vhd")), "vdi_snapshot", 44),
        (.io(.system(call: "pread", errno: 5, path: "a.vhd")), "sr_scan", 40),
        (.rolledBack(operation: "resize", cause: "no space", causeErrno: 28), "vdi_resize", 44),
        (.parentCycle(chain: ["a", "b", "a"]), "vdi_update", 202),
    ]

    @Test(arguments: mappings)
    func vhdErrorsMapToSMCodes(error: VHDError, command: String, number: Int32) {
        let mapped = SRError(vhd: error, command: command)
        #expect(mapped.faultCode == number, "\(error) during \(command)")
        #expect(mapped.opterr == error.description)
        #expect(mapped.faultString == "\(mapped.code.description) [opterr=\(error.description)]")
    }
}
