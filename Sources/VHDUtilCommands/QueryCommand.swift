import VHD

/// `vhd-util query -n NAME [-v] [-s] [-p] [-f] [-m] [-d] [-a] [-S] [-u]`: facts about one image,
/// always printed in the same order whatever the order of the flags.
struct QueryCommand: Subcommand {
    static let name = "query"
    static let optionString = "n:vspfdSmauh"
    static let usage = Usage.query
    static let supportsJSON = true

    var path: String?
    var virtualSize = false
    var physicalSize = false
    var parent = false
    var fields = false
    var marker = false
    var depth = false
    var allocated = false
    var maxSize = false
    var resolveParent = true

    static func main(_ arguments: [String], _ console: Console) -> Int32 {
        var query = QueryCommand()
        var getopt = options(arguments)
        while let event = getopt.next(console) {
            switch event {
            case .option("n", let value): query.path = value
            case .option("v", _): query.virtualSize = true
            case .option("s", _): query.physicalSize = true
            case .option("p", _): query.parent = true
            case .option("f", _): query.fields = true
            case .option("d", _): query.depth = true
            case .option("S", _): query.maxSize = true
            case .option("m", _): query.marker = true
            case .option("a", _): query.allocated = true
            case .option("u", _): query.resolveParent = false
            case .option("h", _): return usage(console, status: 0)
            default: return usage(console, status: Errno.invalid)
            }
        }
        guard let path = query.path, getopt.operands.isEmpty else { return usage(console, status: Errno.invalid) }
        let image: Image.Libvhd
        do { image = try Image.open(path: path, options: .libvhd()).libvhd } catch {
            console.log(error)
            console.print("error opening \(path): -\(error.errno)")
            return error.errno
        }
        let result = query.answer(image)
        if console.json {
            console.print(result.json.rendered)
        } else {
            for line in result.lines { console.print(line) }
        }
        return result.status
    }

    /// What `query` found: each requested item, or the errno that prevented it.
    struct Result {
        enum ParentAnswer {
            case notDifferencing
            case path(String)
            case failed(Int32)
        }

        var path: String
        var virtualSizeMB: UInt64?
        var physicalSize: Swift.Result<UInt64, VHDError>?
        var parent: ParentAnswer?
        var hidden: Swift.Result<Int8, VHDError>?
        var marker: Swift.Result<Int8, VHDError>?
        var depth: Swift.Result<Int, VHDError>?
        var allocated: Swift.Result<UInt32, VHDError>?
        var maxSizeMB: UInt64?

        /// The first failure in print order, as blktap's `err = err ?: ret`.
        var status: Int32 {
            if case .failure(let error) = physicalSize { return error.errno }
            if case .failed(let errno) = parent { return errno }
            for item in [
                hidden.map(Self.errno), marker.map(Self.errno), depth.map(Self.errno), allocated.map(Self.errno),
            ] {
                if let errno = item, errno != 0 { return errno }
            }
            return 0
        }

        static func errno<T>(_ result: Swift.Result<T, VHDError>) -> Int32 {
            if case .failure(let error) = result { return error.errno }
            return 0
        }

        /// blktap's lines, in its fixed order.
        var lines: [String] {
            var lines: [String] = []
            if let virtualSizeMB { lines.append(String(virtualSizeMB)) }
            switch physicalSize {
            case .success(let size): lines.append(String(size))
            case .failure(let error): lines.append("failed to get physical size: -\(error.errno)")
            case nil: break
            }
            switch parent {
            case .notDifferencing: lines.append("\(path) has no parent")
            case .path(let parentPath): lines.append(parentPath)
            case .failed: lines.append("query failed")
            case nil: break
            }
            switch hidden {
            case .success(let value): lines.append("hidden: \(value)")
            case .failure(let error): lines.append("error checking 'hidden' field: -\(error.errno)")
            case nil: break
            }
            switch marker {
            case .success(let value): lines.append("marker: \(value)")
            case .failure(let error): lines.append("error checking 'marker' field: -\(error.errno)")
            case nil: break
            }
            switch depth {
            case .success(let value): lines.append("chain depth: \(value)")
            case .failure(let error): lines.append("error checking chain depth: -\(error.errno)")
            case nil: break
            }
            switch allocated {
            case .success(let value): lines.append(String(value))
            case .failure(let error): lines.append("error reading bat: -\(error.errno)")
            case nil: break
            }
            if let maxSizeMB { lines.append(String(maxSizeMB)) }
            return lines
        }

        var json: JSON {
            var members: [(String, JSON)] = [("path", .string(path))]
            func item<T>(_ key: String, _ result: Swift.Result<T, VHDError>?, _ value: (T) -> JSON) {
                switch result {
                case .success(let found): members.append((key, value(found)))
                case .failure(let error):
                    members.append(
                        (
                            key,
                            .object([("errno", .integer(Int64(error.errno))), ("error", .string(error.description))])
                        ))
                case nil: break
                }
            }
            if let virtualSizeMB { members.append(("virtual_size_mb", .unsigned(virtualSizeMB))) }
            item("physical_size", physicalSize) { .unsigned($0) }
            switch parent {
            case .notDifferencing: members.append(("parent", .null))
            case .path(let parentPath): members.append(("parent", .string(parentPath)))
            case .failed(let errno): members.append(("parent", .object([("errno", .integer(Int64(errno)))])))
            case nil: break
            }
            item("hidden", hidden) { .integer(Int64($0)) }
            item("marker", marker) { .integer(Int64($0)) }
            item("chain_depth", depth) { .integer(Int64($0)) }
            item("allocated_blocks", allocated) { .unsigned(UInt64($0)) }
            if let maxSizeMB { members.append(("max_virtual_size_mb", .unsigned(maxSizeMB))) }
            return .object(members)
        }
    }

    /// Computes every requested item from `image`.
    func answer(_ image: Image.Libvhd) -> Result {
        var result = Result(path: image.path)
        if virtualSize { result.virtualSizeMB = image.footer.currentSize >> 20 }
        if physicalSize { result.physicalSize = Swift.Result { () throws(VHDError) in try image.physicalSize() } }
        if parent {
            if !image.isDifferencing {
                result.parent = .notDifferencing
            } else {
                do { result.parent = .path(try image.parentPath(resolve: resolveParent)) } catch {
                    result.parent = .failed(error.errno)
                }
            }
        }
        if fields { result.hidden = Swift.Result { () throws(VHDError) in try image.hidden() } }
        if marker { result.marker = Swift.Result { () throws(VHDError) in try image.marker() } }
        if depth { result.depth = Swift.Result { () throws(VHDError) in try image.chainDepth() } }
        if allocated {
            result.allocated = Swift.Result { () throws(VHDError) in
                UInt32(try image.bat().filter { $0 != 0xFFFF_FFFF }.count)
            }
        }
        if maxSize { result.maxSizeMB = UInt64((image.header?.maxTableEntries ?? 0) &<< 1) }
        return result
    }
}
