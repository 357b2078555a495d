import Logging
import VigilCore
import VigilSources
#if canImport(Glibc)
import Glibc
#endif

/// Logs one line per message to stderr. When stderr is systemd's journal stream (`$JOURNAL_STREAM`
/// names its device and inode) it drops its own timestamp and prefixes the syslog priority (`<3>`),
/// which journald turns into the entry's level (`journalctl -p warning`).
public struct StderrLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let journald: Bool

    public init(label: String, level: Logger.Level, journald: Bool = StderrLogHandler.stderrIsJournal) {
        self.label = label
        self.logLevel = level
        self.journald = journald
    }

    /// True when `$JOURNAL_STREAM` (`DEVICE:INODE`, set by systemd) is the file stderr is connected to —
    /// not merely inherited by a process whose stderr was redirected elsewhere.
    public static let stderrIsJournal: Bool = {
        guard let v = getenv("JOURNAL_STREAM") else { return false }
        return isJournal(stream: String(cString: v), fd: 2)
    }()

    static func isJournal(stream: String, fd: Int32) -> Bool {
        let parts = stream.split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let prefix = journald ? "<\(Self.syslogPriority(event.level))>" : "\(Timestamp.rfc3339(Clock.wallNanos())) \(event.level.rawValue.uppercased()) "
        var line = prefix + event.message.description
        var all = metadata
        if let m = event.metadata { all.merge(m) { $1 } }
        for key in all.keys.sorted() { line += " \(key)=\(all[key]!)" }
        // journald makes an entry of every line: each continuation line gets the priority too.
        if journald && line.contains("\n") { line = line.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n" + prefix) }
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
