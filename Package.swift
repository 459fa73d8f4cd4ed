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
        .executable(name: "sm-bench", targets: ["SMBench"]),
        .executable(name: "nbd-bench", targets: ["NBDBench"]),
        .library(name: "VHD", targets: ["VHD"]),
        .library(name: "BlockIO", targets: ["BlockIO"]),
        .executable(name: "sm", targets: ["SMMain"]),
        .executable(name: "sm-datapathd", targets: ["DatapathMain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        .target(name: "BlockIO", swiftSettings: strict),
        .target(name: "Processes", swiftSettings: strict),
        .target(name: "Sockets", swiftSettings: strict),
        .target(name: "VHDFormat", swiftSettings: strict),
        .target(name: "VHD", dependencies: ["VHDFormat", "BlockIO"], swiftSettings: strict),
        .target(name: "VHDUtilCommands", dependencies: ["VHD", "VHDFormat", "BlockIO"], swiftSettings: strict),
        .target(name: "SM", dependencies: ["VHD", "VHDFormat", "BlockIO", "Processes"], swiftSettings: strict),
        .target(name: "XMLRPC", swiftSettings: strict),
        .target(name: "NBD", dependencies: ["VHD", "BlockIO", "Sockets"], swiftSettings: strict),
        .target(name: "Datapath", dependencies: ["NBD", "VHD", "BlockIO", "Processes", "Sockets"], swiftSettings: strict),
        .target(name: "DatapathBackend", dependencies: ["SM", "Datapath"], swiftSettings: strict),
        .target(name: "SMAPI", dependencies: ["SM", "XMLRPC"], swiftSettings: strict),
        .target(name: "ExtDriver", dependencies: ["SM", "VHD", "BlockIO"], path: "Sources/Drivers/ext", swiftSettings: strict),
        .target(name: "SMDrivers", dependencies: ["SM", "ExtDriver"], swiftSettings: strict),
        .target(
            name: "SMCommands",
            dependencies: [
                "SM", "SMAPI", "SMDrivers", "DatapathBackend", "Datapath", "Processes", "VHD", "BlockIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .executableTarget(name: "SMMain", dependencies: ["SMCommands"], swiftSettings: strict),
        .executableTarget(
            name: "DatapathMain", dependencies: ["Datapath", "DatapathBackend", "SMDrivers"], swiftSettings: strict),
        .executableTarget(name: "VHDUtilMain", dependencies: ["VHDUtilCommands"], swiftSettings: strict),
        .executableTarget(name: "VHDFuzz", dependencies: ["VHD", "VHDFormat", "BlockIO"], swiftSettings: strict),
        .executableTarget(
            name: "VHDBench", dependencies: ["VHD", "VHDFormat", "BlockIO"], path: "Benchmarks/VHDBench",
            swiftSettings: strict),
        .executableTarget(
            name: "SMBench", dependencies: ["SM", "DatapathBackend", "VHD", "BlockIO"], path: "Benchmarks/SMBench",
            swiftSettings: strict),
        .executableTarget(
            name: "NBDBench", dependencies: ["NBD", "VHD", "BlockIO"], path: "Benchmarks/NBDBench",
            swiftSettings: strict),
        .target(name: "TestSupport", dependencies: ["BlockIO"], path: "Tests/TestSupport"),
        .testTarget(name: "BlockIOTests", dependencies: ["BlockIO", "TestSupport"]),
        .testTarget(name: "VHDFormatTests", dependencies: ["VHDFormat"]),
        .testTarget(name: "VHDTests", dependencies: ["VHD", "VHDFormat", "BlockIO", "TestSupport"]),
        .testTarget(
            name: "VHDUtilCommandsTests", dependencies: ["VHDUtilCommands", "VHD", "BlockIO", "TestSupport"]),
        .testTarget(name: "SMTests", dependencies: ["SM", "VHD", "BlockIO", "TestSupport"]),
        .testTarget(name: "XMLRPCTests", dependencies: ["XMLRPC", "TestSupport"]),
        .testTarget(name: "NBDTests", dependencies: ["NBD", "Sockets", "VHD", "BlockIO", "TestSupport"]),
        .testTarget(
            name: "DatapathTests",
            dependencies: ["Datapath", "DatapathBackend", "SM", "NBD", "VHD", "BlockIO", "TestSupport"]),
        .testTarget(name: "SMAPITests", dependencies: ["SMAPI", "SM", "XMLRPC", "ExtDriver", "TestSupport"]),
        .testTarget(
            name: "SMCommandsTests", dependencies: ["SMCommands", "SM", "DatapathBackend", "Datapath", "TestSupport"]),
        .testTarget(name: "InteropTests", dependencies: ["VHD", "VHDFormat", "BlockIO", "TestSupport"]),
    ]
)
