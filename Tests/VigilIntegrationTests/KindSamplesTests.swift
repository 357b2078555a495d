import Foundation
import Testing
import VigilAgent
import VigilCore
import VigilSources

/// Every kind folder under Sources/VigilSources carries a `sample.yaml`: each one loads through the
/// real config loader (what `vigil check` does) and builds its source.
@Suite struct KindSamplesTests {
    static let sourcesDir = #filePath.replacingSuffix("Tests/VigilIntegrationTests/KindSamplesTests.swift", with: "Sources/VigilSources")

    /// `(folder, path)` of every sample, sorted by folder.
    static var samples: [(folder: String, path: String)] {
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: sourcesDir)) ?? []
        return folders.sorted().compactMap { folder in
            let path = sourcesDir + "/" + folder + "/sample.yaml"
            return FileManager.default.fileExists(atPath: path) ? (folder, path) : nil
        }
    }

    @Test func everyRegisteredKindHasOneSample() throws {
        var kinds: [String] = []
        for s in Self.samples {
            let c = try ConfigLoader.load(path: s.path)
            kinds += c.sources.map(\.kind)
        }
        #expect(kinds.sorted() == SourceKinds.names.sorted())
    }

    @Test(arguments: samples.map(\.path))
    func sampleLoadsAndBuilds(path: String) throws {
        let c = try ConfigLoader.load(path: path)
        #expect(c.sources.count == 1)
        let sources = try Agent.buildSources(c)
        #expect(sources.map(\.name) == c.sources.map(\.name))
        #expect(sources[0].channels.map(\.name) == c.channelNames.map(\.name))
    }
}
