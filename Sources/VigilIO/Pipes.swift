#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Self-pipes that wake a thread asleep in `poll` (the uplink's `WakePipe`, the sources' `StopSignal`).
public enum Pipes {
    /// A pipe with both ends non-blocking and closed on exec: (read end, write end), or nil when the
    /// process is out of descriptors.
    public static func makeNonBlocking() -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        return (fds[0], fds[1])
    }
}
