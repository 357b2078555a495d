// swift-tools-version:6.1
// Benchmarks, kept out of the main package so `make test` does not build the harness.
// Run: cd Benchmarks && swift package benchmark   (see README.md, "Performance")
import PackageDescription

let package = Package(
    name: "VigilBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HotPath",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "VigilCore", package: "Vigil"),
                .product(name: "VigilSources", package: "Vigil"),
                .product(name: "VigilAgent", package: "Vigil"),
            ],
            path: "Benchmarks/HotPath",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
