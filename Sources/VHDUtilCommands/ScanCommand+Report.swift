import VHD

extension ScanCommand {
    /// The lines `scan` prints, in order: images and errors as they are scanned, or with `-p`,
    /// errors as they happen and then the tree of images.
    struct Report {
        enum Entry {
            case image(ScannedImage, depth: Int)
            case error(name: String, errno: Int32, message: String)
        }

        let scan: ScanCommand
        private(set) var entries: [Entry] = []
        /// Pretty mode: the images collected for the tree, unique by name.
        private var collected: [ScannedImage] = []

        init(scan: ScanCommand) { self.scan = scan }

        mutating func error(_ name: String, _ errno: Int32, _ message: String) {
            entries.append(.error(name: name, errno: errno, message: message))
        }

        mutating func add(_ image: ScannedImage) {
            if let error = image.error {
                self.error(image.name, error.errno, error.message)
            } else if scan.pretty {
                if !collected.contains(where: { $0.name == image.name }) { collected.append(image) }
            } else {
                entries.append(.image(image, depth: 0))
            }
        }

        /// Pretty mode: appends the tree (blktap's `vhd_util_scan_pretty_print_images`): images
        /// sorted by name (bytewise), children under their parent, non-hidden before hidden;
        /// hidden roots first, then the other roots, then anything left (loops).
        mutating func finish() {
            guard scan.pretty else { return }
            var images = collected.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
            var index: [String: Int] = [:]
            for (position, image) in images.enumerated() { index[image.name] = position }
            var children = [[Int]](repeating: [], count: images.count)
            var hasParent = [Bool](repeating: false, count: images.count)
            for position in images.indices {
                guard let parent = images[position].parent else { continue }
                if let parentPosition = index[parent] {
                    children[parentPosition].append(position)
                    hasParent[position] = true
                } else {
                    images[position].parentFound = false
                }
            }
            var printed = [Bool](repeating: false, count: images.count)
            func printTree(_ position: Int, _ depth: Int) {
                guard !printed[position] else { return }
                printed[position] = true
                entries.append(.image(images[position], depth: depth))
                for child in children[position] where images[child].hidden == 0 { printTree(child, depth + 1) }
                for child in children[position] where images[child].hidden != 0 { printTree(child, depth + 1) }
            }
            for position in images.indices where !hasParent[position] && images[position].hidden != 0 {
                printTree(position, 0)
            }
            for position in images.indices where !hasParent[position] { printTree(position, 0) }
            for position in images.indices { printTree(position, 0) }
        }

        /// blktap's line formats (`vhd_util_scan_print_image_indent`).
        var lines: [String] {
            entries.map { entry in
                switch entry {
                case .error(let name, let errno, let message):
                    return "vhd=\(name) scan-error=\(errno) error-message='\(message)'"
                case .image(let image, let depth):
                    let indent = String(repeating: " ", count: depth * 3)
                    let name = scan.verbose ? image.name : CFormat.basename(image.name)
                    let parent = image.parent.map { scan.verbose ? $0 : CFormat.basename($0) } ?? "none"
                    let missing = scan.pretty && !image.parentFound ? " (not found in scan)" : ""
                    var line =
                        "\(indent)vhd=\(name) capacity=\(image.capacity) size=\(image.size) hidden=\(image.hidden) "
                    if scan.markers {
                        let hash = image.keyHash.flatMap { $0.cookie != 0 ? CFormat.hexBytes($0.hash) : nil } ?? ""
                        line += "marker=\(image.marker) keyhash=\(hash) "
                    }
                    return line + "parent=\(parent)\(missing)"
                }
            }
        }

        var json: JSON {
            .array(
                entries.map { entry in
                    switch entry {
                    case .error(let name, let errno, let message):
                        return .object([
                            ("vhd", .string(name)), ("scan_error", .integer(Int64(errno))),
                            ("error_message", .string(message)),
                        ])
                    case .image(let image, let depth):
                        var members: [(String, JSON)] = [
                            ("vhd", .string(image.name)),
                            ("capacity", .unsigned(image.capacity)),
                            ("size", .unsigned(image.size)),
                            ("hidden", .unsigned(UInt64(image.hidden))),
                            ("parent", .optional(image.parent)),
                        ]
                        if scan.markers {
                            members.append(("marker", .unsigned(UInt64(image.marker))))
                            let hash = image.keyHash.flatMap { $0.cookie != 0 ? CFormat.hexBytes($0.hash) : nil }
                            members.append(("keyhash", .optional(hash)))
                        }
                        if scan.pretty {
                            members.append(("depth", .integer(Int64(depth))))
                            members.append(("parent_found", .bool(image.parentFound)))
                        }
                        return .object(members)
                    }
                })
        }
    }
}
