import Logging
import VigilCore
import VigilSources
#if canImport(Glibc)
import Glibc
#endif

/// Logs one line per message to stderr. Under systemd (`JOURNAL_STREAM` set) it drops its own
/// timestamp and prefixes the syslog priority (`<3>`), which journald turns into the entry's level.
public struct StderrLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let journald: Bool

    public init(label: String, level: Logger.Level, journald: Bool = getenv("JOURNAL_STREAM") != nil) {
        self.label = label
        self.logLevel = level
        self.journald = journald
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = journald ? "<\(Self.syslogPriority(event.level))>" : "\(Timestamp.rfc3339(Clock.wallNanos())) \(event.level.rawValue.uppercased()) "
        line += event.message.description
        var all = metadata
        if let m = event.metadata { all.merge(m) { $1 } }
        for key in all.keys.sorted() { line += " \(key)=\(all[key]!)" }
        line += "\n"
        // One write(2) per line so lines from several threads never interleave.
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buf in _ = write(2, buf.baseAddress, buf.count) }
    }

    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }
}
