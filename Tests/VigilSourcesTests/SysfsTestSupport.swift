import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilSources

// Support shared by the sysfs source tests (dht_iio, ds18b20).

/// A fresh directory made by mkdtemp under /tmp, standing in for /sys/bus/…; `remove()` deletes it.
struct SysfsTree {
    let root: String

    init() {
        var template = Array("/tmp/vigil-sysfs-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed: \(errno)")
        root = String(cString: made!)
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    /// Writes `content` to `relative`, making its directories.
    func write(_ relative: String, _ content: String) {
        let p = path(relative)
        try! FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! content.write(toFile: p, atomically: false, encoding: .utf8)
    }

    func mkdir(_ relative: String) {
        try! FileManager.default.createDirectory(atPath: path(relative), withIntermediateDirectories: true)
    }

    func delete(_ relative: String) { try! FileManager.default.removeItem(atPath: path(relative)) }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

/// Log lines a source wrote, and the sink its up/down transitions went to.
final class SysfsEvents: Sendable {
    typealias Change = CollectingSink.Change
    private let state = Mutex<[(SourceLogLevel, String)]>([])
    let sink = CollectingSink()

    var logger: SourceLogger { { [self] level, line in state.withLock { $0.append((level, line)) } } }

    var changes: [Change] { sink.changes }
    var lines: [String] { state.withLock { $0.map(\.1) } }
    func lines(_ level: SourceLogLevel) -> [String] { state.withLock { $0.filter { $0.0 == level }.map(\.1) } }
}

/// A reader that fails with a chosen errno for paths ending in a chosen suffix, and reads the
/// real file otherwise — a driver answering EIO or ETIMEDOUT, which a regular file cannot.
final class FailingReader: Sendable {
    private let plan = Mutex<(suffix: String, errnos: [Int32], always: Int32?)>(("", [], nil))
    private let calls = Mutex<[String]>([])

    /// The next reads of `suffix` fail with `errnos`, one each, then succeed.
    func fail(_ suffix: String, with errnos: [Int32]) { plan.withLock { $0 = (suffix, errnos, nil) } }
    /// Every read of `suffix` fails with `code` until `heal()`.
    func failAlways(_ suffix: String, with code: Int32) { plan.withLock { $0 = (suffix, [], code) } }
    func heal() { plan.withLock { $0 = ("", [], nil) } }
    var paths: [String] { calls.withLock { $0 } }

    var reader: SysfsReader {
        { [self] path in
            calls.withLock { $0.append(path) }
            let code: Int32? = plan.withLock { p in
                guard !p.suffix.isEmpty, path.hasSuffix(p.suffix) else { return nil }
                if let a = p.always { return a }
                return p.errnos.isEmpty ? nil : p.errnos.removeFirst()
            }
            if let code { return .failure(SysfsReadError(path: path, operation: "read", errno: code)) }
            return SysfsFile.read(path)
        }
    }
}
