import Dispatch
import Foundation
import TestSupport
import Testing

@testable import SM

/// Another process holding a POSIX record lock, as SM's Python `flock.py` takes it
/// (`fcntl.lockf` is `fcntl(F_SETLKW)`), until the test lets it go.
final class PythonLockHolder {
    static let script = """
        import fcntl, os, sys, time
        path, ready, release, mode = sys.argv[1:5]
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.lockf(fd, fcntl.LOCK_EX if mode == "ex" else fcntl.LOCK_SH)
        open(ready, "w").close()
        deadline = time.time() + 60
        while not os.path.exists(release) and time.time() < deadline:
            time.sleep(0.005)
        """

    let running: RunningTool
    let releasePath: String

    init(path: String, mode: String = "ex", in directory: TemporaryDirectory) throws {
        let tag = UUID().uuidString
        let ready = directory.path(for: "ready-\(tag)")
        releasePath = directory.path(for: "release-\(tag)")
        running = try Tool.require("python3").start(["-c", Self.script, path, ready, releasePath, mode])
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: ready) {
            guard Date() < deadline, running.isRunning else {
                throw ToolError.notInstalled("python3 lock holder did not start: \(running.errorOutputSoFar)")
            }
            usleep(2000)
        }
    }

    /// Lets the holder exit and waits for it.
    func release() throws {
        _ = FileManager.default.createFile(atPath: releasePath, contents: nil)
        _ = try running.wait(timeout: 20)
    }
}

/// Whether another process can take the lock right now: python's non-blocking `lockf`.
func otherProcessCanLock(_ path: String, mode: String = "ex") throws -> Bool {
    let script = """
        import fcntl, os, sys
        fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, (fcntl.LOCK_EX if sys.argv[2] == "ex" else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except OSError:
            sys.exit(3)
        """
    let result = try Tool.require("python3").run(["-c", script, path, mode], timeout: 20)
    #expect(result.status == 0 || result.status == 3, "\(result)")
    return result.status == 0
}

@Suite struct LockFileTests {
    @Test func pathsAreSMs() throws {
        let locks = LockDirectory(base: "/var/lock/sm/")
        let sr = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
        #expect(try locks.srLock(srUUID: sr).path == "/var/lock/sm/\(sr)/sr")
        #expect(try locks.vdiLock(vdiUUID: sr).path == "/var/lock/sm/\(sr)/vdi")
        #expect(try locks.gcRunningLock(srUUID: sr).path == "/var/lock/sm/\(sr)/running")
        #expect(try locks.gcActiveLock(srUUID: sr).path == "/var/lock/sm/\(sr)/gc_active")
        #expect(try locks.lock("lvm", namespace: nil).path == "/var/lock/sm/.nil/lvm")
        #expect(LockDirectory().base == "/var/lock/sm")
        #expect(LockDirectory(base: "//tmp//x//").base == "/tmp/x")
    }

    @Test(arguments: ["", ".", "..", "../x", "a/b", "/abs", "x\u{0}y", String(repeating: "n", count: 256)])
    func hostileNamesAreRefusedWithLockErr(name: String) throws {
        let locks = LockDirectory(base: "/nonexistent-base")
        let errors = [
            #expect(throws: SRError.self) { _ = try locks.lock(name, namespace: "ns") },
            #expect(throws: SRError.self) { _ = try locks.lock("sr", namespace: name) },
            #expect(throws: SRError.self) { _ = try locks.srLock(srUUID: name) },
        ]
        for error in errors {
            let error = try #require(error)
            #expect(error.code.number == 37 /* LockErr */)
            #expect(error.faultString.hasPrefix("The lock/unlock request failed [opterr=invalid lock"))
        }
    }

    @Test func dotNamesThatStayInsideTheDirectoryAreFine() throws {
        let directory = try TemporaryDirectory()
        let locks = LockDirectory(base: directory.path)
        let lock = try locks.lock("..hidden", namespace: ".nil")
        #expect(try lock.tryAcquire())
        try lock.release()
        #expect(FileManager.default.fileExists(atPath: directory.path(for: ".nil/..hidden")))
    }

    @Test func acquireCreatesTheFileAndIsReentrantWithinTheProcess() throws {
        let directory = try TemporaryDirectory()
        let lock = try LockDirectory(base: directory.path).srLock(srUUID: "sr1")
        #expect(!lock.isHeld)
        try lock.acquire()
        #expect(FileManager.default.fileExists(atPath: directory.path(for: "sr1/sr")))
        #expect(try lock.tryAcquire())
        try lock.acquire(timeout: .milliseconds(10))
        #expect(lock.holdCount == 3)
        try lock.release()
        try lock.release()
        #expect(lock.isHeld)
        #expect(try !otherProcessCanLock(lock.path))
        try lock.release()
        #expect(!lock.isHeld)
        #expect(try otherProcessCanLock(lock.path))
        #expect(FileManager.default.fileExists(atPath: lock.path), "lock files stay, as SM's")
    }

    @Test func releasingAnUnheldLockIsLockErr() throws {
        let directory = try TemporaryDirectory()
        let lock = try LockDirectory(base: directory.path).lock("x", namespace: "ns")
        let error = try #require(throws: SRError.self) { try lock.release() }
        #expect(error.code.number == 37 /* LockErr */)
    }

    @Test func anotherProcessesLockMakesTryAcquireFailUntilItExits() throws {
        let directory = try TemporaryDirectory()
        let lock = try LockDirectory(base: directory.path).srLock(srUUID: "sr2")
        try FileManager.default.createDirectory(atPath: directory.path(for: "sr2"), withIntermediateDirectories: true)
        let holder = try PythonLockHolder(path: lock.path, in: directory)
        #expect(try !lock.tryAcquire())
        #expect(try !lock.tryAcquire(.shared))
        #expect(!lock.isHeld)
        try holder.release()
        #expect(try lock.tryAcquire())
        #expect(try !otherProcessCanLock(lock.path))
        try lock.release()
    }

    @Test func sharedLocksCoexistAcrossProcessesAndExcludeWriters() throws {
        let directory = try TemporaryDirectory()
        let lock = try LockDirectory(base: directory.path).lock("scan", namespace: "ns")
        try FileManager.default.createDirectory(atPath: directory.path(for: "ns"), withIntermediateDirectories: true)
        let holder = try PythonLockHolder(path: lock.path, mode: "sh", in: directory)
        #expect(try !lock.tryAcquire(.exclusive))
        #expect(try lock.tryAcquire(.shared))
        #expect(try otherProcessCanLock(lock.path, mode: "sh"))
        #expect(try !otherProcessCanLock(lock.path, mode: "ex"))
        try lock.release()
        try holder.release()
    }

    @Test func upgradingASharedHoldIsRefusedButAnExclusiveHoldCountsSharedAcquires() throws {
        let directory = try TemporaryDirectory()
        let locks = LockDirectory(base: directory.path)
        let shared = try locks.lock("a", namespace: "ns")
        try shared.acquire(.shared)
        let error = try #require(throws: SRError.self) { try shared.acquire(.exclusive) }
        #expect(error.code.number == 37 /* LockErr */)
        try shared.release()
        let exclusive = try locks.lock("b", namespace: "ns")
        try exclusive.acquire(.exclusive)
        #expect(try exclusive.tryAcquire(.shared))
        #expect(exclusive.holdCount == 2)
        try exclusive.release()
        try exclusive.release()
    }

    @Test func timedAcquireFailsWithLockErrWhileAnotherProcessHoldsIt() throws {
        let directory = try TemporaryDirectory()
        let lock = try LockDirectory(base: directory.path).srLock(srUUID: "sr3")
        try FileManager.default.createDirectory(atPath: directory.path(for: "sr3"), withIntermediateDirectories: true)
        let holder = try PythonLockHolder(path: lock.path, in: directory)
        let start = ContinuousClock.now
        let error = try #require(throws: SRError.self) { try lock.acquire(timeout: .milliseconds(200)) }
        let waited = ContinuousClock.now - start
        #expect(error.code.number == 37 /* LockErr */)
        #expect(error.opterr?.contains("timed out") == true)
        #expect(waited >= .milliseconds(200) && waited < .seconds(5))
        try holder.release()
        try lock.acquire(timeout: .seconds(10))
        try lock.release()
    }

    @Test func blockingAcquireWaitsForTheOtherProcess() throws {
        let directory = try TemporaryDirectory()
        let lock = try LockDirectory(base: directory.path).srLock(srUUID: "sr4")
        try FileManager.default.createDirectory(atPath: directory.path(for: "sr4"), withIntermediateDirectories: true)
        let holder = try PythonLockHolder(path: lock.path, in: directory)
        let releasePath = holder.releasePath
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            _ = FileManager.default.createFile(atPath: releasePath, contents: nil)
        }
        let start = ContinuousClock.now
        try lock.acquire()  // F_SETLKW
        #expect(ContinuousClock.now - start >= .milliseconds(250))
        try lock.release()
        _ = try holder.running.wait(timeout: 20)
    }

    @Test func threadsOfOneProcessShareTheLockAndCountEachAcquire() throws {
        let directory = try TemporaryDirectory()
        let lock = try LockDirectory(base: directory.path).lock("shared", namespace: "threads")
        let threads = 16
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            try? lock.acquire(timeout: .seconds(10))
        }
        #expect(lock.holdCount == threads)
        #expect(try !otherProcessCanLock(lock.path))
        DispatchQueue.concurrentPerform(iterations: threads) { _ in try? lock.release() }
        #expect(!lock.isHeld)
        #expect(try otherProcessCanLock(lock.path))
    }

    @Test func withLockReleasesWhenTheBodyThrows() throws {
        let directory = try TemporaryDirectory()
        let lock = try LockDirectory(base: directory.path).vdiLock(vdiUUID: "v1")
        let value = try lock.withLock { () throws(SRError) in lock.holdCount }
        #expect(value == 1)
        #expect(!lock.isHeld)
        let error = try #require(throws: SRError.self) {
            try lock.withLock { () throws(SRError) in throw SRError(.vdiInUse) }
        }
        #expect(error.code.number == 24 /* VDIInUse */)
        #expect(!lock.isHeld)
    }

    @Test func cleanupRemovesLockFilesButNotHeldOnes() throws {
        let directory = try TemporaryDirectory()
        let locks = LockDirectory(base: directory.path)
        let a = try locks.lock("a", namespace: "ns")
        let b = try locks.lock("b", namespace: "ns")
        try a.acquire()
        try a.release()
        try b.acquire()
        #expect(throws: SRError.self) { try locks.cleanup("b", namespace: "ns") }
        #expect(throws: SRError.self) { try locks.cleanupAll(namespace: "ns") }
        try b.release()
        try locks.cleanup("a", namespace: "ns")
        #expect(!FileManager.default.fileExists(atPath: a.path))
        try locks.cleanup("a", namespace: "ns")
        try locks.cleanupAll(namespace: "ns")
        #expect(!FileManager.default.fileExists(atPath: directory.path(for: "ns")))
        try locks.cleanupAll(namespace: "never-made")
    }

    @Test func aLockUnderAnUnwritableBaseIsLockErr() throws {
        let lock = try LockDirectory(base: "/proc/swift-sm-no-such-dir").lock("x", namespace: "y")
        let error = try #require(throws: SRError.self) { _ = try lock.tryAcquire() }
        #expect(error.code.number == 37 /* LockErr */)
        #expect(!lock.isHeld)
    }
}
