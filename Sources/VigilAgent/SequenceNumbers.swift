import Logging
import Synchronization
import VigilCore
import VigilSources
#if canImport(Glibc)
import Glibc
#endif

/// The per-device sequence number every event carries, so the fleet can drop duplicates by (device, seq).
///
/// It must never repeat, across restarts, kills and power cuts, without a disk write per event. So numbers
/// are reserved in blocks: before the first number of a block is used, the end of the block is written to
/// `path` (a small text file, replaced atomically and synced). After a crash the next run starts after the
/// last reserved block, leaving a gap (at most one block) but never a repeat; a clean `close` records the
/// exact next number, so a restart continues without a gap.
///
/// If the file cannot be written, numbering jumps to the current time in microseconds since the Unix epoch
/// (about 1.8·10¹⁵, still exact in a JSON double), which is above any number a slower earlier run reached
/// as long as the clock does not go back. One log line says so.
public final class SequenceNumbers: Sendable {
    private struct State {
        var next: UInt64
        /// Numbers below this are reserved (on disk when `persisted`).
        var reservedUpTo: UInt64
        var issued = 0
        var persisted: Bool
        var closed = false
    }

    public let path: String?
    public let block: UInt64
    private let logger: Logger?
    private let state: Mutex<State>

    /// Numbers in memory only, from `first` (tests, replay).
    public init(startingAt first: UInt64 = 1) {
        path = nil
        block = 0
        logger = nil
        state = Mutex(State(next: first, reservedUpTo: .max, persisted: false))
    }

    /// Numbers that survive restarts, reserved `block` at a time in `path`.
    public init(path: String, block: UInt64 = 1000, logger: Logger) {
        self.path = path
        self.block = max(1, block)
        self.logger = logger
        var s = State(next: 1, reservedUpTo: 1, persisted: true)
        switch Self.read(path) {
        case .missing:
            s.next = 1
        case .value(let n):
            s.next = max(1, n)
        case .unreadable(let why):
            let jump = Self.clockStart()
            logger.error("sequence file \(path) \(why); numbering from the clock (\(jump)) so no number repeats")
            s.next = jump
        }
        s.reservedUpTo = s.next
        state = Mutex(s)
        state.withLock { s in reserve(&s) }
    }

    /// The next number (thread-safe). Reserves a new block first when the current one is used up.
    public func next() -> UInt64 {
        state.withLock { s in
            if s.next >= s.reservedUpTo { reserve(&s) }
            defer { s.next += 1; s.issued += 1 }
            return s.next
        }
    }

    /// The last number handed out (0 when none yet in this run).
    public var last: UInt64 { state.withLock { $0.issued == 0 ? 0 : $0.next - 1 } }
    /// Numbers handed out in this run.
    public var issued: Int { state.withLock { $0.issued } }
    /// The number the next event will get.
    public var upcoming: UInt64 { state.withLock { $0.next } }

    /// Records the exact next number, so the next run continues without a gap.
    public func close() {
        state.withLock { s in
            guard !s.closed else { return }
            s.closed = true
            guard s.persisted, let path else { return }
            if Self.write(s.next, to: path) == nil { s.reservedUpTo = s.next }
        }
    }

    private func reserve(_ s: inout State) {
        guard let path else { s.reservedUpTo = .max; return }
        guard s.persisted else {
            s.reservedUpTo = s.next &+ block
            return
        }
        let end = s.next &+ block
        if let failure = Self.write(end, to: path) {
            s.persisted = false
            let jump = max(s.next, Self.clockStart())
            logger?.error("cannot save sequence numbers in \(path): \(failure); numbering from the clock (\(jump)) so no number repeats after a restart")
            s.next = jump
            s.reservedUpTo = jump &+ block
        } else {
            s.reservedUpTo = end
        }
    }

    static func clockStart() -> UInt64 {
        UInt64(max(1, Clock.wallNanos() / 1000))
    }

    private enum ReadResult { case missing, value(UInt64), unreadable(String) }

    private static func read(_ path: String) -> ReadResult {
        guard let f = fopen(path, "rb") else {
            return errno == ENOENT ? .missing : .unreadable("cannot be read: \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var buf = [UInt8](repeating: 0, count: 64)
        let n = fread(&buf, 1, buf.count, f)
        let text = String(decoding: buf[0..<n], as: UTF8.self)
        // "next 12345\n"
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, parts[0] == "next", let v = UInt64(parts[1]) else {
            return .unreadable("is damaged ('\(text.prefix(32))')")
        }
        return .value(v)
    }

    /// Writes `next N` to a temporary file, syncs it, renames it over `path` and syncs the directory.
    /// Nil on success, else the reason.
    private static func write(_ value: UInt64, to path: String) -> String? {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        let bytes = Array("next \(value)\n".utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n != bytes.count || fsync(fd) != 0 {
            let e = n < 0 ? errno : (n != bytes.count ? ENOSPC : errno)
            _ = Glibc.close(fd)
            _ = unlink(tmp)
            return String(cString: strerror(e))
        }
        _ = Glibc.close(fd)
        guard rename(tmp, path) == 0 else {
            let e = errno
            _ = unlink(tmp)
            return String(cString: strerror(e))
        }
        let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let dfd = open(dir.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); _ = Glibc.close(dfd) }
        return nil
    }
}
