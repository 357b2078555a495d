import VigilCore
import VigilIO
#if canImport(Glibc)
import Glibc
#endif

/// A pseudo-terminal pair standing in for a USB-serial device (`vigil simulate --serial`, tests):
/// what is written here comes out of `path`, which a serial source opens like a real port.
///
/// `posix_openpt`, `grantpt`, `unlockpt`, `ptsname_r`; both sides in raw mode (no echo, no CR/LF
/// translation); the master is non-blocking, so a line that finds the pty's buffer full (nobody
/// reading) is dropped, as a UART with nobody listening would. The slave side is held open so
/// the pty survives readers coming and going; `close()` makes readers see a hang-up, as an
/// unplugged adapter does.
public final class VirtualSerialPort {
    /// `/dev/pts/N`.
    public let slavePath: String
    /// A symlink to `slavePath`, when asked for (a stable name across restarts, like socat's
    /// `link=`).
    public let linkPath: String?
    /// What to put in a config: the link if there is one, else the slave.
    public var path: String { linkPath ?? slavePath }
    public private(set) var masterFD: Int32
    private var slaveFD: Int32
    /// Lines that did not fit (nobody reading) and were dropped.
    public private(set) var droppedLines = 0

    /// - Parameter link: a path to (re)create as a symlink to the slave; removed by `close()`.
    public init(link: String? = nil) throws(SerialPortError) {
        let pt = PTYCalls.shared
        let m = pt.posixOpenpt(O_RDWR | O_NOCTTY | O_CLOEXEC)
        if m < 0 { throw .system("/dev/ptmx", "posix_openpt") }
        var name = [CChar](repeating: 0, count: 128)
        guard pt.grantpt(m) == 0, pt.unlockpt(m) == 0, pt.ptsnameR(m, &name, name.count) == 0 else {
            let e = SerialPortError.system("/dev/ptmx", "grantpt/unlockpt/ptsname_r")
            _ = Glibc.close(m)
            throw e
        }
        let slave = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let s = Glibc.open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC)
        if s < 0 {
            let e = SerialPortError.system(slave, "open")
            _ = Glibc.close(m)
            throw e
        }
        for fd in [m, s] {
            var t = termios()
            if tcgetattr(fd, &t) == 0 {
                cfmakeraw(&t)
                _ = tcsetattr(fd, TCSANOW, &t)
            }
        }
        let flags = fcntl(m, F_GETFL)
        _ = fcntl(m, F_SETFL, flags | O_NONBLOCK)
        if let link {
            unlink(link)
            if symlink(slave, link) != 0 {
                let e = SerialPortError.system(link, "symlink")
                _ = Glibc.close(s)
                _ = Glibc.close(m)
                throw e
            }
        }
        masterFD = m
        slaveFD = s
        slavePath = slave
        linkPath = link
    }

    deinit { close() }

    /// Closes both sides (readers see a hang-up) and removes the link. Safe to call twice.
    public func close() {
        if let linkPath, masterFD >= 0 { unlink(linkPath) }
        if masterFD >= 0 { _ = Glibc.close(masterFD) }
        if slaveFD >= 0 { _ = Glibc.close(slaveFD) }
        masterFD = -1
        slaveFD = -1
    }

    /// Writes bytes without blocking; returns how many went out (fewer when the buffer is full).
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        var done = 0
        while done < bytes.count && masterFD >= 0 {
            let n = Interrupts.retry { Glibc.write(masterFD, bytes.baseAddress! + done, bytes.count - done) }
            if n > 0 { done += n; continue }
            break
        }
        return done
    }

    /// Writes one line. When the pty's buffer is full (nobody reading), waits up to
    /// `waitMilliseconds` for room, then drops the line; a line that started going out is given
    /// at least 100 ms more to finish, so readers never see half a line glued to the next.
    /// False when the line was dropped or cut.
    @discardableResult
    public func write(line: String, waitMilliseconds: Int32 = 0) -> Bool {
        var bytes = Array(line.utf8)
        return bytes.withUnsafeMutableBytes { raw -> Bool in
            var done = 0
            var waited: Int32 = 0
            while masterFD >= 0 {
                done += write(UnsafeRawBufferPointer(rebasing: raw[done...]))
                if done == raw.count { return true }
                if waited >= (done == 0 ? waitMilliseconds : max(waitMilliseconds, 100)) { break }
                var p = pollfd(fd: masterFD, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 10)
                waited += 10
            }
            droppedLines += 1
            return false
        }
    }
}

/// glibc's pty calls, which the Swift `Glibc` module does not export (they sit behind
/// `_XOPEN_SOURCE`): looked up once with `dlsym`.
struct PTYCalls: @unchecked Sendable {
    let posixOpenpt: @convention(c) (Int32) -> Int32
    let grantpt: @convention(c) (Int32) -> Int32
    let unlockpt: @convention(c) (Int32) -> Int32
    let ptsnameR: @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32

    static let shared: PTYCalls = {
        let libc = dlopen(nil, RTLD_NOW)
        func load<T>(_ name: String, as: T.Type) -> T {
            guard let sym = dlsym(libc, name) else { fatalError("libc has no \(name)") }
            return unsafeBitCast(sym, to: T.self)
        }
        return PTYCalls(posixOpenpt: load("posix_openpt", as: (@convention(c) (Int32) -> Int32).self),
                        grantpt: load("grantpt", as: (@convention(c) (Int32) -> Int32).self),
                        unlockpt: load("unlockpt", as: (@convention(c) (Int32) -> Int32).self),
                        ptsnameR: load("ptsname_r", as: (@convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32).self))
    }()
}

/// Renders lines of readings the way a device prints them, for `vigil simulate --serial` and
/// tests: `kv` (`t=21.5,h=40.1`), `csv`/`semicolon` (a header line first), `json` (one flat
/// object). A nil value is left out (kv, json) or an empty cell (csv); NaN is `nan` (kv, csv) or
/// `null` (json). Numbers use Swift's shortest round-trip form, so a parser reads them back
/// exactly. Lines end in CR LF, as Arduino's `Serial.println` does.
public struct SerialLineFormatter: Sendable {
    public let format: SerialLineFormat
    public let fields: [String]
    public let lineEnding: String
    private var headerWritten = false

    public init(format: SerialLineFormat, fields: [String], lineEnding: String = "\r\n") {
        self.format = format
        self.fields = fields
        self.lineEnding = lineEnding
    }

    /// The header line for csv/semicolon (with line ending), nil for kv and json.
    public var header: String? {
        switch format {
        case .csv: return fields.joined(separator: ",") + lineEnding
        case .semicolon: return fields.joined(separator: ";") + lineEnding
        case .kv, .json: return nil
        }
    }

    /// The next text to send: the header before the first line (csv/semicolon), then the line.
    public mutating func next(_ values: [Double?]) -> String {
        if !headerWritten {
            headerWritten = true
            if let h = header { return h + line(values) }
        }
        return line(values)
    }

    /// Sends the header again before the next line (as a device does after a reset).
    public mutating func repeatHeader() { headerWritten = false }

    /// One line of `values` (one per field, in order), with line ending.
    public func line(_ values: [Double?]) -> String {
        precondition(values.count == fields.count, "one value per field")
        var out = ""
        switch format {
        case .kv:
            var first = true
            for (f, v) in zip(fields, values) {
                guard let v else { continue }
                if !first { out += "," }
                first = false
                out += f + "=" + Self.number(v)
            }
        case .csv, .semicolon:
            let sep = format == .csv ? "," : ";"
            out = values.map { $0.map(Self.number) ?? "" }.joined(separator: sep)
        case .json:
            out = "{"
            var first = true
            for (f, v) in zip(fields, values) {
                guard let v else { continue }
                if !first { out += "," }
                first = false
                out += "\"" + Self.jsonEscaped(f) + "\":" + (v.isFinite ? Self.number(v) : "null")
            }
            out += "}"
        }
        return out + lineEnding
    }

    /// `21.5`, `1e-05`, `nan`, `inf`, `-inf`.
    static func number(_ v: Double) -> String { v.isNaN ? "nan" : "\(v)" }

    static func jsonEscaped(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20:
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
