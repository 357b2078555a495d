import Synchronization
import VigilCore
import VigilIO
#if canImport(Glibc)
import Glibc
#endif

/// A flag raised once to ask threads to finish, that also wakes them: its `fileDescriptor` becomes
/// readable when it is raised (and stays so), so a thread can sleep in `poll` until its next
/// deadline or its device's data, and still see a stop at once — no polling of the flag.
public final class StopSignal: Sendable {
    private let raised = Atomic<Bool>(false)
    /// Readable once raised (a byte is written into a pipe that nobody reads); -1 if no pipe could
    /// be made, and then sleepers wake every `fallbackSlice` to look at the flag.
    public let fileDescriptor: Int32
    private let writeFD: Int32
    static let fallbackSlice: Int64 = 100_000_000

    public init() {
        let fds = Pipes.makeNonBlocking()
        fileDescriptor = fds?.read ?? -1
        writeFD = fds?.write ?? -1
    }

    deinit {
        if fileDescriptor >= 0 { close(fileDescriptor) }
        if writeFD >= 0 { close(writeFD) }
    }

    public func raise() {
        guard !raised.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        if writeFD >= 0 { _ = Interrupts.retry { write(writeFD, &byte, 1) } }
    }

    public var isRaised: Bool { raised.load(ordering: .acquiring) }

    /// Sleeps until the monotonic clock reaches `deadline` or the signal is raised, whichever comes
    /// first. Returns false when it was raised.
    @discardableResult
    public func sleep(untilMonotonic deadline: Int64) -> Bool {
        while !isRaised {
            let now = Clock.monotonicNanos()
            if now >= deadline { return true }
            _ = wait(fd: -1, timeoutMilliseconds: Self.milliseconds(until: deadline, from: now))
        }
        return false
    }

    /// `poll` on `fd` (if not -1) for reading and on this signal: `revents` of `fd`, 0 on a timeout,
    /// a raised signal or EINTR; -1 with `errno` when `poll` failed.
    public func wait(fd: Int32, timeoutMilliseconds: Int32) -> Int32 {
        var fds = (pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0))
        var timeout = timeoutMilliseconds
        if fileDescriptor < 0 { timeout = min(timeout, Int32(Self.fallbackSlice / 1_000_000)) }
        let rc = withUnsafeMutablePointer(to: &fds) {
            $0.withMemoryRebound(to: pollfd.self, capacity: 2) { Glibc.poll($0, 2, timeout) }
        }
        if rc < 0 { return errno == EINTR ? 0 : -1 }
        return Int32(fds.0.revents)
    }

    /// A `poll` timeout that reaches `deadline` (rounded up, so the wake-up is never early).
    /// Far deadlines (`.max`: none) clamp to `Int32.max` milliseconds, past ones give 0.
    public static func milliseconds(until deadline: Int64, from now: Int64) -> Int32 {
        guard deadline > now else { return 0 }
        let (ns, overflow) = deadline.subtractingReportingOverflow(now)
        if overflow { return .max }
        let (ms, rest) = ns.quotientAndRemainder(dividingBy: 1_000_000)
        return Int32(clamping: rest > 0 ? ms + 1 : ms)
    }
}
