// swift-tools-version:6.1
import PackageDescription
import Foundation

/// Each sensor kind's folder keeps its README.md and sample.yaml next to its code (documentation, not
/// resources): listed here so a new kind needs no line in this file.
let kindDocuments: [String] = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Sources/VigilSources")
    let folders = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
    return folders.sorted().flatMap { folder in
        ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? [])
            .filter { $0.hasSuffix(".md") || $0.hasSuffix(".yaml") }.sorted().map { "\(folder)/\($0)" }
    }
}()

let package = Package(
    name: "Vigil",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vigil", targets: ["vigil"]),
        // The fleet receiver: its own binary, so the agent never links its store or server libraries.
        .executable(name: "vigil-fleet", targets: ["vigil-fleet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Only its bcrypt (a small C library): password hashes for the fleet page's users.
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        // Hummingbird's header types by name (WWW-Authenticate, security headers); already in Hummingbird's graph.
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries from Debian, found through pkg-config.
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto",
                       providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(name: "CGPIOD", pkgConfig: "libgpiod",
                       providers: [.apt(["libgpiod-dev"])]),
        .systemLibrary(name: "CSerialPort", pkgConfig: "libserialport",
                       providers: [.apt(["libserialport-dev"])]),
        .systemLibrary(name: "CALSA", pkgConfig: "alsa",
                       providers: [.apt(["libasound2-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1",
                       providers: [.apt(["libyaml-dev"])]),

        // Typed POSIX I/O (swift-system): whole-file reads, EINTR retries, errors naming file and call.
        .target(name: "VigilIO", dependencies: [.product(name: "SystemPackage", package: "swift-system")]),
        // Pure Swift, no I/O, no C: windows, detectors, episodes, summaries, events, config model.
        .target(name: "VigilCore"),
        // One folder per sensor kind, each with its README and sample config.
        .target(name: "VigilSources", dependencies: ["VigilCore", "VigilIO", "CSerialPort", "CGPIOD", "CALSA"],
                exclude: kindDocuments),
        // MQTT over libmosquitto and the outbox.
        .target(name: "VigilUplink", dependencies: [
            "CMosquitto", "VigilCore", "VigilIO",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // YAML on libyaml: nodes with line and column, a Decoder over them, config errors placed at file:line.
        // Shared by the agent and the fleet receiver (no server framework in it).
        .target(name: "VigilYAML", dependencies: ["VigilCore", "CYAML"]),
        // Wiring: config file → pipelines → uplink.
        .target(name: "VigilAgent", dependencies: [
            "VigilCore", "VigilIO", "VigilSources", "VigilUplink", "VigilYAML",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "vigil", dependencies: [
            "VigilAgent", "VigilCore", "VigilIO", "VigilSources", "VigilUplink",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // The fleet side. Pure: decoding every Vigil payload and the per-device ingest state machine.
        .target(name: "VigilFleetCore", dependencies: ["VigilCore"]),
        // The receiver: MQTT subscriber over libmosquitto, the store (SQLite through GRDB), the ingest loop,
        // the JSON API (Hummingbird).
        .target(name: "VigilFleet", dependencies: [
            // VigilUplink: the agent's TLS setup and diagnostics (libmosquitto only, no server framework).
            "VigilFleetCore", "VigilCore", "CMosquitto", "VigilUplink",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "vigil-fleet", dependencies: [
            "VigilFleet", "VigilFleetCore", "VigilCore", "VigilIO", "VigilYAML", "VigilUplink",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .testTarget(name: "VigilCoreTests", dependencies: ["VigilCore"]),
        .testTarget(name: "VigilIOTests", dependencies: ["VigilIO", .product(name: "SystemPackage", package: "swift-system")]),
        .testTarget(name: "VigilSourcesTests", dependencies: ["VigilSources", "VigilCore"]),
        // Real mosquitto brokers and subscribers for tests, started and stopped by process id.
        .target(name: "VigilTestSupport", path: "Tests/VigilTestSupport"),
        .testTarget(name: "VigilUplinkTests", dependencies: [
            "VigilUplink", "VigilCore", "VigilTestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "VigilFleetCoreTests", dependencies: ["VigilFleetCore", "VigilCore", "VigilTestSupport"]),
        .testTarget(name: "VigilFleetTests", dependencies: [
            "VigilFleet", "VigilFleetCore", "VigilCore", "VigilTestSupport",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "VigilIntegrationTests", dependencies: [
            "VigilAgent", "VigilCore", "VigilTestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)

// Benchmarks (ordo-one/benchmark) only when asked for, so `make test` does not build the harness:
// VIGIL_BENCHMARKS=1 swift package benchmark   (or `make bench`)
if ProcessInfo.processInfo.environment["VIGIL_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]))
    package.targets.append(.executableTarget(
        name: "HotPath",
        dependencies: [
            .product(name: "Benchmark", package: "benchmark"),
            "VigilCore", "VigilSources", "VigilAgent",
        ],
        path: "Benchmarks/HotPath",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
}

