import VigilCore
import VigilIO
#if canImport(Glibc)
import Glibc
#endif

/// A serial device opened with plain POSIX calls: pseudo-terminals (socat, ser2net, virtual ports,
/// `vigil simulate --serial`) and anything else libserialport refuses. One method per C call.
public final class TermiosPort {
    public let path: String
    /// -1 once closed.
    public private(set) var fileDescriptor: Int32

    /// `open(2)` with `O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC`.
    public init(path: String) throws(SerialPortError) {
        self.path = path
        let fd = Interrupts.retry { Glibc.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC) }
        if fd < 0 {
            let code = errno
            var e = SerialPortError.system(path, "open", errno: code)
            if code == ENOENT { e.message = "no such device" }
            throw e
        }
        fileDescriptor = fd
    }

    deinit { close() }

    /// `close(2)`; safe to call twice.
    public func close() {
        if fileDescriptor >= 0 { _ = Glibc.close(fileDescriptor) }
        fileDescriptor = -1
    }

    /// `tcgetattr`, `cfmakeraw`, `cfsetispeed`/`cfsetospeed`, character size, parity, stop bits
    /// and flow control, `tcsetattr(TCSANOW)`. Raw mode: no echo, no CR/LF translation, no
    /// signals. A rate `termios` has no constant for (e.g. 74880) is left as it is and reported
    /// by returning false — a pseudo-terminal ignores the rate anyway.
    @discardableResult
    public func configure(baud: Int, dataBits: Int = 8, parity: SerialParity = .none, stopBits: Int = 1,
                          flowControl: SerialFlowControl = .none) throws(SerialPortError) -> Bool {
        var t = termios()
        if tcgetattr(fileDescriptor, &t) != 0 { throw .system(path, "tcgetattr") }
        cfmakeraw(&t)
        let speed = Self.speed(forBaud: baud)
        if let speed {
            if cfsetispeed(&t, speed) != 0 || cfsetospeed(&t, speed) != 0 { throw .system(path, "cfsetspeed") }
        }
        t.c_cflag &= ~tcflag_t(CSIZE)
        switch dataBits {
        case 5: t.c_cflag |= tcflag_t(CS5)
        case 6: t.c_cflag |= tcflag_t(CS6)
        case 7: t.c_cflag |= tcflag_t(CS7)
        default: t.c_cflag |= tcflag_t(CS8)
        }
        switch parity {
        case .none: t.c_cflag &= ~tcflag_t(PARENB | PARODD)
        case .odd: t.c_cflag |= tcflag_t(PARENB | PARODD)
        case .even: t.c_cflag = (t.c_cflag | tcflag_t(PARENB)) & ~tcflag_t(PARODD)
        }
        if stopBits == 2 { t.c_cflag |= tcflag_t(CSTOPB) } else { t.c_cflag &= ~tcflag_t(CSTOPB) }
        t.c_cflag &= ~tcflag_t(CRTSCTS)
        t.c_iflag &= ~tcflag_t(IXON | IXOFF | IXANY)
        switch flowControl {
        case .none: break
        case .rtscts: t.c_cflag |= tcflag_t(CRTSCTS)
        case .xonxoff: t.c_iflag |= tcflag_t(IXON | IXOFF)
        }
        t.c_cflag |= tcflag_t(CLOCAL | CREAD)
        // Non-blocking reads after poll(): return what is there.
        withUnsafeMutableBytes(of: &t.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        if tcsetattr(fileDescriptor, TCSANOW, &t) != 0 { throw .system(path, "tcsetattr") }
        return speed != nil
    }

    /// `poll(2)` for input, up to `timeoutMilliseconds`.
    public func poll(timeoutMilliseconds: Int32) throws(SerialPortError) -> SerialIO.Readiness {
        try SerialIO.poll(fileDescriptor, device: path, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// `read(2)`: the bytes read; 0 at end of file (the other side is gone); -1 when nothing was
    /// there (EAGAIN).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SerialPortError) -> Int {
        try SerialIO.read(fileDescriptor, device: path, into: buffer)
    }

    /// The `speed_t` constant for a standard rate.
    public static func speed(forBaud baud: Int) -> speed_t? {
        let table: [(Int, Int32)] = [
            (50, B50), (75, B75), (110, B110), (134, B134), (150, B150), (200, B200), (300, B300),
            (600, B600), (1200, B1200), (1800, B1800), (2400, B2400), (4800, B4800), (9600, B9600),
            (19200, B19200), (38400, B38400), (57600, B57600), (115200, B115200), (230400, B230400),
            (460800, B460800), (500000, B500000), (576000, B576000), (921600, B921600),
            (1000000, B1000000), (1152000, B1152000), (1500000, B1500000), (2000000, B2000000),
            (2500000, B2500000), (3000000, B3000000), (3500000, B3500000), (4000000, B4000000),
        ]
        return table.first { $0.0 == baud }.map { speed_t($0.1) }
    }

    /// True when `path` (after following symlinks) is a pseudo-terminal slave (`/dev/pts/N`).
    public static func isPseudoTerminal(_ path: String) -> Bool {
        guard let real = realpath(path, nil) else { return false }
        defer { free(real) }
        return String(cString: real).hasPrefix("/dev/pts/")
    }
}

/// An open serial device of either kind, read by `poll` + `read` on its descriptor (which, unlike
/// `sp_blocking_read`, sees a hang-up).
public protocol SerialDevice: AnyObject {
    /// The path it was opened by.
    var path: String { get }
    /// `libserialport` or `termios`.
    var backend: String { get }
    var fileDescriptor: Int32 { get }
    func close()
}

/// A port opened through libserialport and configured.
public final class LibSerialPortDevice: SerialDevice {
    public let port: SerialPort
    public let fileDescriptor: Int32
    public var path: String { port.name }
    public var backend: String { "libserialport" }

    /// `sp_open` (read), then rate, bits, parity, stop bits, flow control; the descriptor is made
    /// non-blocking for `poll` + `read`.
    public init(port: SerialPort, baud: Int, dataBits: Int, parity: SerialParity, stopBits: Int,
                flowControl: SerialFlowControl) throws(SerialPortError) {
        self.port = port
        try port.open(.read)
        do {
            try port.setBaudrate(baud)
            try port.setBits(dataBits)
            try port.setParity(parity)
            try port.setStopBits(stopBits)
            try port.setFlowControl(flowControl)
            fileDescriptor = try port.fileDescriptor()
        } catch {
            try? port.close()
            throw error
        }
        let flags = fcntl(fileDescriptor, F_GETFL)
        if flags >= 0 { _ = fcntl(fileDescriptor, F_SETFL, flags | O_NONBLOCK) }
    }

    public func close() { try? port.close() }
}

extension TermiosPort: SerialDevice {
    public var backend: String { "termios" }
}

/// `poll` and `read` on a serial descriptor, with EINTR retried and hang-ups told apart.
public enum SerialIO {
    public enum Readiness: Sendable, Equatable {
        /// Bytes can be read.
        case readable
        /// Nothing arrived within the timeout.
        case timeout
        /// The device hung up or failed (unplugged, pty master closed).
        case hangup(String)
    }

    /// `poll(2)` for POLLIN. POLLHUP/POLLERR with POLLIN still reads what is buffered first.
    /// A raised `stop` ends the wait as a timeout does.
    public static func poll(_ fd: Int32, device: String, timeoutMilliseconds: Int32, orStop stop: StopSignal? = nil) throws(SerialPortError) -> Readiness {
        let r: Int32
        if let stop {
            r = stop.wait(fd: fd, timeoutMilliseconds: timeoutMilliseconds)
            if r < 0 { throw .system(device, "poll") }
        } else {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let rc = Glibc.poll(&p, 1, timeoutMilliseconds)
            if rc < 0 {
                if errno == EINTR { return .timeout }
                throw .system(device, "poll")
            }
            r = Int32(p.revents)
        }
        if r == 0 { return .timeout }
        if r & Int32(POLLIN) != 0 { return .readable }
        if r & Int32(POLLNVAL) != 0 { return .hangup("descriptor closed") }
        if r & Int32(POLLERR) != 0 { return .hangup("device error") }
        if r & Int32(POLLHUP) != 0 { return .hangup("device hung up") }
        return .timeout
    }

    /// `read(2)`: the bytes read; 0 at end of file (the other side is gone); -1 when nothing was
    /// there after all (EAGAIN). EINTR is retried.
    public static func read(_ fd: Int32, device: String, into buffer: UnsafeMutableRawBufferPointer) throws(SerialPortError) -> Int {
        let n = Interrupts.retry { Glibc.read(fd, buffer.baseAddress, buffer.count) }
        if n >= 0 { return n }
        if errno == EAGAIN || errno == EWOULDBLOCK { return -1 }
        throw .system(device, "read")
    }
}
