import Dispatch
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import SM

@Suite struct RefCounterTests {
    let directory: TemporaryDirectory
    let counter: RefCounter

    init() throws {
        directory = try TemporaryDirectory()
        counter = RefCounter(
            base: directory.path(for: "refcount"), locks: LockDirectory(base: directory.path(for: "lock")))
    }

    func content(_ object: String, _ namespace: String) throws -> String? {
        let path = try counter.path(of: object, namespace: namespace)
        return FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func fileHoldsCountAndBinaryCountExactlyAsSM() throws {
        #expect(try counter.get("vdi1", binary: false, namespace: "lvm-sr") == 1)
        #expect(try content("vdi1", "lvm-sr") == "1 0\n")
        #expect(try counter.path(of: "vdi1", namespace: "lvm-sr") == directory.path(for: "refcount/lvm-sr/vdi1"))
        #expect(try counter.get("vdi1", binary: true, namespace: "lvm-sr") == 2)
        #expect(try content("vdi1", "lvm-sr") == "1 1\n")
        #expect(try counter.get("vdi1", binary: false, namespace: "lvm-sr") == 3)
        #expect(try content("vdi1", "lvm-sr") == "2 1\n")
        #expect(try counter.check("vdi1", namespace: "lvm-sr") == .init(count: 2, binaryCount: 1))
    }

    /// Issue 8, finding 8: temporary files of interrupted writes were never cleaned. The next
    /// write of the same count removes those of dead processes, and keeps a live one's.
    @Test func aWriteRemovesTemporariesDeadProcessesLeft() throws {
        #expect(try counter.get("vdi1", binary: false, namespace: "sr") == 1)
        let path = try counter.path(of: "vdi1", namespace: "sr")
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        let stale = "\(path).tmp-\(exited.processIdentifier)-42"
        let live = "\(path).tmp-1-43"
        for file in [stale, live] { #expect(FileManager.default.createFile(atPath: file, contents: Data("9 9\n".utf8))) }
        #expect(try counter.get("vdi1", binary: false, namespace: "sr") == 2)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: live), "pid 1 still runs: its write may be in progress")
        #expect(try content("vdi1", "sr") == "2 0\n")
    }

    @Test func binaryCountIsClampedToOne() throws {
        #expect(try counter.get("leaf", binary: true, namespace: "ns") == 1)
        #expect(try counter.get("leaf", binary: true, namespace: "ns") == 1)
        #expect(try content("leaf", "ns") == "0 1\n")
        #expect(try counter.put("leaf", binary: true, namespace: "ns") == 0)
        #expect(try counter.put("leaf", binary: true, namespace: "ns") == 0)
    }

    @Test func reachingZeroRemovesTheFileAndTheEmptyNamespace() throws {
        try counter.get("a", binary: false, namespace: "ns")
        try counter.get("a", binary: false, namespace: "ns")
        #expect(try counter.put("a", binary: false, namespace: "ns") == 1)
        #expect(try content("a", "ns") == "1 0\n")
        #expect(try counter.put("a", binary: false, namespace: "ns") == 0)
        #expect(try content("a", "ns") == nil)
        #expect(!FileManager.default.fileExists(atPath: directory.path(for: "refcount/ns")))
        #expect(try counter.check("a", namespace: "ns") == .init(count: 0, binaryCount: 0))
    }

    @Test func decrementingBelowZeroIsClampedWithAWarning() throws {
        let warnings = Mutex<[String]>([])
        let counter = RefCounter(
            base: directory.path(for: "rc2"), locks: LockDirectory(base: directory.path(for: "lock")),
            warning: { message in warnings.withLock { $0.append(message) } })
        #expect(try counter.put("x", binary: false, namespace: "ns") == 0)
        #expect(warnings.withLock { $0.count } == 1)
        try counter.get("x", binary: true, namespace: "ns")
        #expect(try counter.put("x", binary: false, namespace: "ns") == 1)
        #expect(try counter.check("x", namespace: "ns") == .init(count: 0, binaryCount: 1))
    }

    @Test func setValidatesAndZeroRemoves() throws {
        try counter.set("s", count: 5, binaryCount: 1, namespace: "ns")
        #expect(try content("s", "ns") == "5 1\n")
        #expect(throws: SRError.self) { try counter.set("s", count: 1, binaryCount: 2, namespace: "ns") }
        #expect(throws: SRError.self) { try counter.set("s", count: -1, binaryCount: 0, namespace: "ns") }
        try counter.set("s", count: 0, binaryCount: 0, namespace: "ns")
        #expect(try content("s", "ns") == nil)
    }

    @Test func namesAreSanitisedAsSMDoes() throws {
        try counter.get("a/b*c?d\\e", binary: false)
        #expect(try counter.path(of: "a/b*c?d\\e") == directory.path(for: "refcount/a/a_b_c_d_e"))
        #expect(try content("a_b_c_d_e", "a") == "1 0\n")
        #expect(try counter.path(of: "/x") == directory.path(for: "refcount/default/_x"))
        #expect(try counter.path(of: "../x", namespace: "ns") == directory.path(for: "refcount/ns/.._x"))
    }

    @Test(arguments: [("..", "ns"), (".", "ns"), ("", "ns"), ("x", ".."), ("x", "a/b"), ("x\u{0}", "ns")])
    func namesThatWouldLeaveTheDirectoryAreRefused(object: String, namespace: String) throws {
        let error = try #require(throws: SRError.self) { try counter.get(object, binary: false, namespace: namespace) }
        #expect(error.code.number == 1 /* InvalidArg */)
        #expect(!FileManager.default.fileExists(atPath: directory.path(for: "refcount")))
    }

    @Test func resetAndResetAll() throws {
        try counter.get("a", binary: false, namespace: "n1")
        try counter.get("b", binary: true, namespace: "n1")
        try counter.get("c", binary: false, namespace: "n2")
        try counter.reset("a", namespace: "n1")
        #expect(try counter.check("a", namespace: "n1").total == 0)
        #expect(try counter.check("b", namespace: "n1").total == 1)
        try counter.resetAll(namespace: "n1")
        #expect(try counter.check("b", namespace: "n1").total == 0)
        #expect(try counter.check("c", namespace: "n2").total == 1)
        try counter.get("d", binary: false, namespace: "n3")
        try counter.resetAll()
        #expect(try counter.check("c", namespace: "n2").total == 0)
        #expect(try counter.check("d", namespace: "n3").total == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path(for: "refcount")).isEmpty)
    }

    @Test(arguments: ["", "1", "x y", "-1 0", "1 2", "1 0 3"])
    func malformedFilesAreReportedNotTrusted(text: String) throws {
        try FileManager.default.createDirectory(
            atPath: directory.path(for: "refcount/ns"), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: directory.path(for: "refcount/ns/bad"), contents: Data(text.utf8))
        let error = try #require(throws: SRError.self) { try counter.get("bad", binary: false, namespace: "ns") }
        #expect(error.opterr?.contains("refcount file") == true)
    }

    @Test func concurrentThreadsNeverLoseAnUpdate() throws {
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 200) { _ in
            do { try counter.get("busy", binary: false, namespace: "ns") } catch { failures.add(1, ordering: .relaxed) }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(try content("busy", "ns") == "200 0\n")
        DispatchQueue.concurrentPerform(iterations: 200) { _ in _ = try? counter.put("busy", binary: false, namespace: "ns") }
        #expect(try counter.check("busy", namespace: "ns").total == 0)
    }

    @Test func operationsRunUnderTheObjectsLockFile() throws {
        let lock = try LockDirectory(base: directory.path(for: "lock")).lock("held", namespace: "ns")
        try FileManager.default.createDirectory(
            atPath: directory.path(for: "lock/ns"), withIntermediateDirectories: true)
        let holder = try PythonLockHolder(path: lock.path, in: directory)
        let impatient = RefCounter(
            base: directory.path(for: "refcount"), locks: LockDirectory(base: directory.path(for: "lock")),
            lockTimeout: .milliseconds(100))
        let error = try #require(throws: SRError.self) { try impatient.get("held", binary: false, namespace: "ns") }
        #expect(error.code.number == 37 /* LockErr */)
        try holder.release()
        #expect(try impatient.get("held", binary: false, namespace: "ns") == 1)
        // Re-entrant: a caller holding the object's lock can still count.
        let total = try lock.withLock { () throws(SRError) in try impatient.put("held", binary: false, namespace: "ns")
        }
        #expect(total == 0)
    }
}
