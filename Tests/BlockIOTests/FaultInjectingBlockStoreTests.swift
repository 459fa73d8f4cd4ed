import BlockIO
import Testing

@Suite struct FaultInjectingBlockStoreTests {
    @Test func countsAndLogsWritesInOrder() throws {
        let store = FaultInjectingBlockStore(base: MemoryBlockStore())
        try store.write(pattern(count: 10), at: 100)
        try store.flush()
        try store.write(pattern(count: 3), at: 0)
        #expect(store.writeCount == 2)
        #expect(store.flushCount == 1)
        #expect(store.writeLog.map { $0.offset } == [100, 0])
        #expect(store.writeLog.map { $0.count } == [10, 3])
        #expect(store.events.map(\.operation) == [.write(offset: 100, count: 10), .flush, .write(offset: 0, count: 3)])
        #expect(!store.hasCrashed)
    }

    @Test(arguments: 0..<4)
    func failsAtWriteNAndThenCrashes(index: Int) throws {
        let base = MemoryBlockStore()
        let store = FaultInjectingBlockStore(base: base, name: "disk", fault: .init(index: index))
        var completed = 0
        for step in 0..<4 {
            do {
                try store.write(pattern(count: 8, seed: step), at: UInt64(step) * 8)
                completed += 1
            } catch {
                #expect(step >= index)
                if step == index { #expect(error == .injectedFault(store: "disk", operation: "write", index: index)) }
            }
        }
        #expect(completed == index)
        #expect(store.hasCrashed)
        #expect(base.size == UInt64(index) * 8)
        #expect(throws: BlockIOError.self) { try store.flush() }
        #expect(store.writeCount == 4)
        #expect(store.events.map(\.outcome).prefix(index + 1).last == .faulted(writtenByteCount: 0))
    }

    @Test func aTornWriteLandsAPrefixOrASuffixBeforeFailing() throws {
        let data = pattern(count: 1024, seed: 8)
        let prefixBase = MemoryBlockStore(size: 1024)
        let prefix = FaultInjectingBlockStore(
            base: prefixBase,
            fault: .init(index: 0, tornWrite: .prefix(byteCount: 512))
        )
        #expect(throws: BlockIOError.self) { try prefix.write(data, at: 0) }
        #expect(try prefixBase.read(count: 1024, at: 0) == Array(data[..<512]) + [UInt8](repeating: 0, count: 512))
        #expect(prefix.events.last?.outcome == .faulted(writtenByteCount: 512))

        let suffixBase = MemoryBlockStore(size: 1024)
        let suffix = FaultInjectingBlockStore(
            base: suffixBase,
            fault: .init(index: 0, tornWrite: .suffix(byteCount: 5000))
        )
        #expect(throws: BlockIOError.self) { try suffix.write(data, at: 0) }
        #expect(try suffixBase.read(count: 1024, at: 0) == data)
        #expect(suffix.events.last?.outcome == .faulted(writtenByteCount: 1024))
    }

    @Test func proceedLetsLaterWritesThrough() throws {
        let base = MemoryBlockStore()
        let store = FaultInjectingBlockStore(base: base, fault: .init(index: 1, afterwards: .proceed))
        try store.write([1], at: 0)
        #expect(throws: BlockIOError.self) { try store.write([2], at: 1) }
        try store.write([3], at: 2)
        #expect(!store.hasCrashed)
        #expect(try base.read(count: 3, at: 0) == [1, 0, 3])
    }

    @Test func countingMutationsFaultsADiscardOrResize() throws {
        let base = MemoryBlockStore(size: 8192)
        let store = FaultInjectingBlockStore(base: base)
        try store.write([9], at: 0)  // before arming: not counted
        store.arm(.init(index: 2, counting: .mutations))
        try store.write([1], at: 0)  // 0
        try store.flush()  // not counted
        try store.discard(0..<4096)  // 1
        #expect(throws: BlockIOError.self) { try store.resize(to: 100) }  // 2
        #expect(base.size == 8192)
        #expect(store.hasCrashed)
        #expect(try store.read(count: 1, at: 0) == [0])  // reads still pass
        store.disarm()
        try store.resize(to: 100)
        #expect(base.size == 100)
        store.reset()
        #expect(store.writeCount == 0 && store.events.isEmpty)
    }
}
