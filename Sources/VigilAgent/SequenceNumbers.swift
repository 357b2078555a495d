import Logging
import Synchronization
import SystemPackage
import VigilCore
import VigilIO
import VigilSources
#if canImport(Glibc)
import Glibc
#endif

/// The per-device sequence number every event carries, so the fleet can drop duplicates by (device, seq).
///
/// It must never repeat nor go back, across restarts, kills and power cuts, without a disk write per event.
/// So numbers are reserved in blocks: before the first number of a block is used, the end of the block is
/// written to `path` (a small text file, replaced atomically and synced). After a crash the next run starts
/// after the last reserved block, leaving a gap (at most one block) but never a repeat; a clean `close`
/// records the exact next number, so a restart continues without a gap. `path` is locked (`<path>.lock`)
/// for the object's life: a second process on the same file is refused (`SequenceFileInUse`).
///
/// If the file cannot be replaced (a full disk), the value is overwritten in place, which needs no new
/// block. If that fails too (a read-only file system), numbering jumps to the current time in microseconds
/// since the Unix epoch (about 1.8·10¹⁵, still exact in a JSON double), above any number a slower earlier
/// run reached as long as the clock does not go back; one log line says so, and the jump is written to the
/// file as soon as it can be (at each block, at least every `retryInterval`, and at `close`), so the next
/// run starts above every number this one gave.
public final class SequenceNumbers: Sendable {
    private struct State {
        var next: UInt64
        /// Numbers below this are reserved (on disk when `recorded`).
        var reservedUpTo: UInt64
        var issued = 0
        /// The file holds a value above every number handed out so far.
        var recorded: Bool
        /// While not `recorded`: when to try writing the file again.
        var retryAt: ContinuousClock.Instant?
        var closed = false
        /// Test hook: writes fail like this.
        var injectedFailure: InjectedFailure?
    }

    /// Test hook: how writing the file fails.
    enum InjectedFailure { case newFiles, everything }

    /// Another process holds the sequence file (another agent on the same outbox directory).
    public struct SequenceFileInUse: Error, Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var pid: Int32?
        public var description: String {
            "sequence file \(path) is in use by another vigil process (\(pid.map { "pid \($0)" } ?? "pid unknown")); give each agent its own mqtt.outbox.dir"
        }
    }

    public let path: String?
    public let block: UInt64
    private let logger: Logger?
    private let state: Mutex<State>
    private let lock: FileLock?
    private let retryInterval: Duration

    /// Numbers in memory only, from `first` (tests, replay).
    public init(startingAt first: UInt64 = 1) {
        path = nil
        block = 0
        logger = nil
        lock = nil
        retryInterval = .seconds(10)
        state = Mutex(State(next: first, reservedUpTo: .max, recorded: false))
    }

    /// Numbers that survive restarts, reserved `block` at a time in `path`, which is locked for the life of
    /// the object. Throws when another process holds it.
    public static func open(path: String, block: UInt64 = 1000, logger: Logger) throws(SequenceFileInUse) -> SequenceNumbers {
        try open(path: path, block: block, logger: logger, retryInterval: .seconds(10))
    }

    static func open(path: String, block: UInt64, logger: Logger, retryInterval: Duration,
                     injecting failure: InjectedFailure? = nil) throws(SequenceFileInUse) -> SequenceNumbers {
        switch lockFile(path) {
        case .held(let pid): throw SequenceFileInUse(path: path, pid: pid)
        case .locked(let lock):
            return SequenceNumbers(path: path, block: block, logger: logger, lock: lock, retryInterval: retryInterval, failure: failure)
        }
    }

    /// Like `open`, but when another process holds the file, numbers come from the clock and the file is
    /// never written (logged). Prefer `open`: the agent must refuse to share the file.
    public convenience init(path: String, block: UInt64 = 1000, logger: Logger) {
        switch Self.lockFile(path) {
        case .locked(let lock):
            self.init(path: path, block: block, logger: logger, lock: lock, retryInterval: .seconds(10), failure: nil)
        case .held(let pid):
            let jump = Self.clockStart()
            logger.error("\(SequenceFileInUse(path: path, pid: pid)); numbering from the clock (\(jump)) without saving")
            self.init(unsavedFrom: jump, path: path, block: block, logger: logger)
        }
    }

    private enum Locking { case locked(FileLock?), held(Int32?) }

    /// Takes `<path>.lock`. A lock file that cannot be created (a read-only directory) is no lock, but no
    /// one else can write the file either.
    private static func lockFile(_ path: String) -> Locking {
        do { return .locked(try FileLock.acquire(path + ".lock")) } catch {
            if case .held(_, let pid) = error { return .held(pid) }
            return .locked(nil)
        }
    }

    private init(unsavedFrom first: UInt64, path: String, block: UInt64, logger: Logger) {
        self.path = nil
        self.block = max(1, block)
        self.logger = logger
        lock = nil
        retryInterval = .seconds(10)
        state = Mutex(State(next: first, reservedUpTo: .max, recorded: false))
    }

    private init(path: String, block: UInt64, logger: Logger, lock: FileLock?, retryInterval: Duration, failure: InjectedFailure?) {
        self.path = path
        self.block = max(1, block)
        self.logger = logger
        self.lock = lock
        self.retryInterval = retryInterval
        var s = State(next: 1, reservedUpTo: 1, recorded: true, injectedFailure: failure)
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

    deinit { lock?.release() }

    /// The next number (thread-safe). Reserves a new block first when the current one is used up; while the
    /// file is behind, tries to bring it up to date now and then.
    public func next() -> UInt64 {
        state.withLock { s in
            if s.next >= s.reservedUpTo {
                reserve(&s)
            } else if !s.recorded, let at = s.retryAt, ContinuousClock.now >= at {
                reserve(&s)
            }
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
    /// Whether the file holds a value above every number handed out.
    public var isRecorded: Bool { state.withLock { $0.recorded } }

    /// Test hook: writing the file fails like this from now on (nil: it works again).
    func inject(_ failure: InjectedFailure?) { state.withLock { $0.injectedFailure = failure } }

    /// Test hook: lets go of the file without writing it, as a killed process would.
    func abandon() { lock?.release() }

    /// Records the exact next number, so the next run continues without a gap; releases the file.
    public func close() {
        state.withLock { s in
            guard !s.closed else { return }
            s.closed = true
            guard let path else { return }
            if let failure = write(s.next, to: path, &s) {
                if !s.recorded {
                    logger?.error("cannot save sequence numbers in \(path) at stop: \(failure); the next run may start below \(s.next)")
                }
            } else {
                s.reservedUpTo = s.next
                s.recorded = true
            }
        }
        lock?.release()
    }

    /// Writes the end of the next block (from `next`), or jumps to the clock when it cannot.
    private func reserve(_ s: inout State) {
        guard let path else { s.reservedUpTo = .max; return }
        let end = s.next &+ block
        if let failure = write(end, to: path, &s) {
            s.retryAt = ContinuousClock.now + retryInterval
            if s.recorded {
                s.recorded = false
                let jump = max(s.next, Self.clockStart())
                logger?.error("cannot save sequence numbers in \(path): \(failure); numbering from the clock (\(jump)) so no number repeats after a restart; saving it again as soon as the disk allows")
                s.next = jump
            }
            s.reservedUpTo = s.next &+ block
        } else {
            if !s.recorded {
                logger?.notice("sequence numbers saved in \(path) again (next run starts at \(end) or later)")
            }
            s.recorded = true
            s.retryAt = nil
            s.reservedUpTo = end
        }
    }

    static func clockStart() -> UInt64 {
        UInt64(max(1, VigilSources.Clock.wallNanos() / 1000))
    }

    private enum ReadResult { case missing, value(UInt64), unreadable(String) }

    private static func read(_ path: String) -> ReadResult {
        let bytes: [UInt8]
        do { bytes = try FileIO.readPrefix(path, capacity: 64) } catch {
            return error.errno == .noSuchFileOrDirectory ? .missing : .unreadable("cannot be read: \(error.reason)")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        // "next 12345\n"
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, parts[0] == "next", let v = UInt64(parts[1]) else {
            return .unreadable("is damaged ('\(text.prefix(32))')")
        }
        return .value(v)
    }

    /// Writes `next N`: replaced atomically (temporary file, synced, renamed, directory synced), else
    /// overwritten in place and synced (a full disk still allows that). Nil on success, else the reason.
    private func write(_ value: UInt64, to path: String, _ s: inout State) -> String? {
        let bytes = Array("next \(value)\n".utf8)
        let replaced = s.injectedFailure != nil ? "No space left on device" : Self.replace(path, bytes)
        guard let replaced else { return nil }
        if s.injectedFailure == .everything { return "Read-only file system" }
        return Self.overwrite(path, bytes) == nil ? nil : replaced
    }

    private static func replace(_ path: String, _ bytes: [UInt8]) -> String? {
        FileIO.replace(path, with: bytes)
    }

    /// The existing file rewritten in its own block: no allocation, so it works on a full disk.
    private static func overwrite(_ path: String, _ bytes: [UInt8]) -> String? {
        do throws(FileIOError) {
            let fd = try FileIO.open(path, .writeOnly)
            defer { try? fd.close() }
            do { _ = try fd.writeAll(toAbsoluteOffset: 0, bytes); try fd.resize(to: Int64(bytes.count)) } catch {
                throw FileIOError(path: path, operation: "write", errno: (error as? Errno) ?? .ioError)
            }
            try FileIO.sync(fd, path: path)
        } catch {
            return error.reason
        }
        return nil
    }
}
