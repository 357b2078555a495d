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
        // Messages and values may carry device-supplied text (a serial line's JSON key): escaped, so
        // that no input can start a forged log line or send escape sequences to a terminal.
        var line = prefix + Self.escaped(event.message.description)
        var all = metadata
        if let m = event.metadata { all.merge(m) { $1 } }
        for key in all.keys.sorted() { line += " \(Self.escaped(key))=\(Self.escaped(all[key]!.description))" }
        line += "\n"
        // One write(2) per line so lines from several threads never interleave.
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buf in _ = write(2, buf.baseAddress, buf.count) }
    }

    /// `text` with its control characters (C0, DEL, C1) written as escapes: `\n`, `\r`, `\t`, else
    /// `\u001b`. Text without any is returned as it is.
    static func escaped(_ text: String) -> String {
        func isControl(_ v: UInt32) -> Bool { v < 0x20 || (0x7F...0x9F).contains(v) }
        guard text.unicodeScalars.contains(where: { isControl($0.value) }) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out.append(contentsOf: #"\n"#.unicodeScalars)
            case "\r": out.append(contentsOf: #"\r"#.unicodeScalars)
            case "\t": out.append(contentsOf: #"\t"#.unicodeScalars)
            case _ where isControl(scalar.value):
                let hex = String(scalar.value, radix: 16)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
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
