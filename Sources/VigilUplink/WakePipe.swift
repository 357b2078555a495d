import VigilIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A self-pipe that lets another thread wake a thread sleeping in `poll` (the uplink's network thread,
/// the outbox's sync thread).
final class WakePipe: Sendable {
    private let readFD: Int32
    private let writeFD: Int32

    init() {
        let fds = Pipes.makeNonBlocking()
        readFD = fds?.read ?? -1
        writeFD = fds?.write ?? -1
    }

    deinit {
        if readFD >= 0 { close(readFD) }
        if writeFD >= 0 { close(writeFD) }
    }

    func signal() {
        var byte: UInt8 = 1
        _ = Interrupts.retry { write(writeFD, &byte, 1) }
    }

    /// Sleeps up to `seconds`, or less if signalled or, when `socket` is not -1, the socket is readable
    /// (or writable, if `forWriting`). A signal is consumed. Returns the socket's `revents` (0 if none).
    @discardableResult
    func wait(seconds: Double, socket: Int32 = -1, forWriting: Bool = false) -> Int16 {
        guard seconds > 0 else { return 0 }
        // Rounded up, so a wake-up by timeout is never early.
        let ms = Int32(clamping: Int64((seconds * 1000).rounded(.up)) + 1)
        var fds = [pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)]
        if socket >= 0 {
            fds.append(pollfd(fd: socket, events: Int16(POLLIN) | (forWriting ? Int16(POLLOUT) : 0), revents: 0))
        }
        let rc = Interrupts.retry { poll(&fds, nfds_t(fds.count), ms) }
        if rc < 0 {
            // No pipe to wait on: fall back to a plain sleep.
            usleep(UInt32(clamping: Int(min(ms, 50)) * 1000))
            return 0
        }
        if rc > 0, fds[0].revents != 0 {
            var buf = [UInt8](repeating: 0, count: 64)
            while read(readFD, &buf, buf.count) > 0 {}
        }
        return rc > 0 && fds.count > 1 ? fds[1].revents : 0
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
