import Foundation

/// Where the tests find a binary this package builds: `$VARIABLE` when set, else the newer of
/// `.build/release/NAME` and `.build/debug/NAME` (so a `swift test` in either mode runs what it built).
public enum BuiltBinary {
    public static func path(_ name: String, environment variable: String) -> String {
        if let b = ProcessInfo.processInfo.environment[variable] { return b }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = ["release", "debug"].map { root.appendingPathComponent(".build/\($0)/\(name)").path }
        let existing = candidates.filter { FileManager.default.isExecutableFile(atPath: $0) }
        func modified(_ p: String) -> Date {
            (try? FileManager.default.attributesOfItem(atPath: p)[.modificationDate] as? Date) ?? .distantPast
        }
        return existing.max { modified($0) < modified($1) } ?? candidates[0]
    }
}
