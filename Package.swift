// swift-tools-version: 6.0
import PackageDescription

let strict: [SwiftSetting] = [.unsafeFlags(["-warnings-as-errors"])]

let package = Package(
    name: "swift-sm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vhd-util", targets: ["VHDUtilMain"]),
        .executable(name: "vhd-fuzz", targets: ["VHDFuzz"]),
        .executable(name: "vhd-bench", targets: ["VHDBench"]),
        .library(name: "VHD", targets: ["VHD"]),
        .library(name: "BlockIO", targets: ["BlockIO"]),
    ],
    targets: [
        .target(name: "BlockIO", swiftSettings: strict),
        .target(name: "VHDFormat", swiftSettings: strict),
        .target(name: "VHD", dependencies: ["VHDFormat", "BlockIO"], swiftSettings: strict),
        .target(name: "VHDUtilCommands", dependencies: ["VHD", "VHDFormat", "BlockIO"], swiftSettings: strict),
        .executableTarget(name: "VHDUtilMain", dependencies: ["VHDUtilCommands"], swiftSettings: strict),
        .executableTarget(name: "VHDFuzz", dependencies: ["VHD", "VHDFormat", "BlockIO"], swiftSettings: strict),
        .executableTarget(
            name: "VHDBench", dependencies: ["VHD", "VHDFormat", "BlockIO"], path: "Benchmarks/VHDBench",
            swiftSettings: strict),
        .target(name: "TestSupport", dependencies: ["BlockIO"], path: "Tests/TestSupport"),
        .testTarget(name: "BlockIOTests", dependencies: ["BlockIO", "TestSupport"]),
        .testTarget(name: "VHDFormatTests", dependencies: ["VHDFormat"]),
        .testTarget(name: "VHDTests", dependencies: ["VHD", "VHDFormat", "BlockIO", "TestSupport"]),
        .testTarget(
            name: "VHDUtilCommandsTests", dependencies: ["VHDUtilCommands", "VHD", "BlockIO", "TestSupport"]),
        .testTarget(name: "InteropTests", dependencies: ["VHD", "VHDFormat", "BlockIO", "TestSupport"]),
    ]
)
