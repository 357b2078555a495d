import CGPIOD
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// A failed libgpiod call: which call, on which chip and line, and the OS's reason.
public struct GPIOError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The libgpiod call that failed: `gpiod_line_request`.
    public var call: String
    /// The chip as the caller named it (label, name or path).
    public var chip: String
    public var line: Int?
    public var errno: Int32
    /// Extra words for the user (what chips exist, what to check).
    public var hint: String

    public init(call: String, chip: String, line: Int? = nil, errno: Int32, hint: String = "") {
        self.call = call; self.chip = chip; self.line = line; self.errno = errno; self.hint = hint
    }

    /// `No such file or directory`
    public var reason: String { String(cString: strerror(errno)) }

    /// `gpiochip 'vigil-sim' line 4: gpiod_line_request: Device or resource busy (line is used by 'other')`
    public var description: String {
        let place = "gpiochip '\(chip)'" + (line.map { " line \($0)" } ?? "")
        return "\(place): \(call): \(reason)" + (hint.isEmpty ? "" : " (\(hint))")
    }
}

/// An open gpiochip (libgpiod 1.6, the v1 character-device uAPI). One Swift call per C call;
/// the chip closes when the value goes away. Not thread-safe: one source thread owns it.
public final class GPIOChip {
    let handle: OpaquePointer
    /// How the caller named it, for errors.
    public let query: String

    /// Opens a chip by path (`/dev/gpiochip0`), name (`gpiochip0`), number (`0`) or label
    /// (`pinctrl-bcm2711`). Labels are stable across kernels where numbers are not (the Pi 5's header
    /// chip is gpiochip4 before 6.6.47 and gpiochip0 after), so configs name chips by label.
    public init(_ query: String) throws(GPIOError) {
        self.query = query
        let opened: OpaquePointer?
        let call: String
        if query.hasPrefix("/") {
            (opened, call) = (gpiod_chip_open(query), "gpiod_chip_open")
        } else if query.hasPrefix("gpiochip"), query.dropFirst(8).allSatisfy(\.isNumber), query.count > 8 {
            (opened, call) = (gpiod_chip_open_by_name(query), "gpiod_chip_open_by_name")
        } else if !query.isEmpty, query.allSatisfy(\.isNumber), let n = UInt32(query) {
            (opened, call) = (gpiod_chip_open_by_number(n), "gpiod_chip_open_by_number")
        } else {
            (opened, call) = (gpiod_chip_open_by_label(query), "gpiod_chip_open_by_label")
        }
        guard let opened else {
            let e = Glibc.errno
            let known = (try? GPIOChips.list()).map { $0.map { "\($0.name) '\($0.label)'" }.joined(separator: ", ") } ?? ""
            throw GPIOError(call: call, chip: query, errno: e,
                            hint: known.isEmpty ? "no gpiochips found" : "gpiochips here: \(known)")
        }
        handle = opened
    }

    deinit { gpiod_chip_close(handle) }

    /// `gpiochip0`
    public var name: String { String(cString: gpiod_chip_name(handle)) }
    /// `pinctrl-bcm2711`
    public var label: String { String(cString: gpiod_chip_label(handle)) }
    public var lineCount: Int { Int(gpiod_chip_num_lines(handle)) }

    /// Line `offset` (the BCM GPIO number on a Pi's header chip). The line is owned by the chip
    /// and lives as long as it does.
    public func line(_ offset: Int) throws(GPIOError) -> GPIOLine {
        guard offset >= 0, offset < lineCount else {
            throw GPIOError(call: "gpiod_chip_get_line", chip: query, line: offset, errno: EINVAL,
                            hint: "the chip has lines 0-\(lineCount - 1)")
        }
        guard let l = gpiod_chip_get_line(handle, UInt32(offset)) else {
            throw GPIOError(call: "gpiod_chip_get_line", chip: query, line: offset, errno: Glibc.errno)
        }
        return GPIOLine(handle: l, chip: self, offset: offset)
    }
}

/// What a line is asked to be.
public enum GPIORequest: Sendable, Equatable {
    case input
    /// Driven to `initial` (0 or 1) when the request is granted.
    case output(initial: Int)
    /// Input with edge events of both kinds, stamped by the kernel (CLOCK_MONOTONIC since Linux 5.7).
    case bothEdges
    case risingEdge
    case fallingEdge

    var requestType: Int32 {
        switch self {
        case .input: return Int32(GPIOD_LINE_REQUEST_DIRECTION_INPUT)
        case .output: return Int32(GPIOD_LINE_REQUEST_DIRECTION_OUTPUT)
        case .bothEdges: return Int32(GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES)
        case .risingEdge: return Int32(GPIOD_LINE_REQUEST_EVENT_RISING_EDGE)
        case .fallingEdge: return Int32(GPIOD_LINE_REQUEST_EVENT_FALLING_EDGE)
        }
    }
}

extension GPIOBias {
    var flag: Int32 {
        switch self {
        case .asIs: return 0
        case .disabled: return Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE)
        case .pullUp: return Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP)
        case .pullDown: return Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN)
        }
    }
}

/// One edge as the kernel reported it.
public struct GPIOEdgeEvent: Sendable, Equatable {
    public var nanos: Int64
    public var rising: Bool
    public init(nanos: Int64, rising: Bool) { self.nanos = nanos; self.rising = rising }
}

/// A line of an open chip. Request it, use it, release it; requests are exclusive (EBUSY when
/// another process holds the line).
public struct GPIOLine {
    let handle: OpaquePointer
    /// Keeps the chip (and so the line) alive.
    let chip: GPIOChip
    public let offset: Int

    func error(_ call: String, _ e: Int32 = Glibc.errno, hint: String = "") -> GPIOError {
        GPIOError(call: call, chip: chip.query, line: offset, errno: e, hint: hint)
    }

    /// `gpiod_line_update` then the line's name, consumer, direction and bias as the kernel has them.
    public func info() throws(GPIOError) -> GPIOLineInfo {
        if gpiod_line_update(handle) != 0 { throw error("gpiod_line_update") }
        let bias: String
        switch Int32(gpiod_line_bias(handle)) {
        case Int32(GPIOD_LINE_BIAS_PULL_UP): bias = "pull-up"
        case Int32(GPIOD_LINE_BIAS_PULL_DOWN): bias = "pull-down"
        case Int32(GPIOD_LINE_BIAS_DISABLE): bias = "disabled"
        default: bias = "as-is"
        }
        return GPIOLineInfo(
            offset: offset,
            name: gpiod_line_name(handle).map { String(cString: $0) },
            consumer: gpiod_line_consumer(handle).map { String(cString: $0) },
            output: gpiod_line_direction(handle) == Int32(GPIOD_LINE_DIRECTION_OUTPUT),
            activeLow: gpiod_line_active_state(handle) == Int32(GPIOD_LINE_ACTIVE_STATE_LOW),
            bias: bias, used: gpiod_line_is_used(handle))
    }

    /// `gpiod_line_request`, naming `consumer` as the holder (shown by `gpioinfo` and `vigil probe`).
    public func request(_ kind: GPIORequest, consumer: String, bias: GPIOBias = .asIs,
                        activeLow: Bool = false, openDrain: Bool = false) throws(GPIOError) {
        var flags = bias.flag
        if activeLow { flags |= Int32(GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) }
        if openDrain { flags |= Int32(GPIOD_LINE_REQUEST_FLAG_OPEN_DRAIN) }
        var initial: Int32 = 0
        if case .output(let v) = kind { initial = v == 0 ? 0 : 1 }
        let rc = consumer.withCString { name in
            var config = gpiod_line_request_config(consumer: name, request_type: kind.requestType, flags: flags)
            return gpiod_line_request(handle, &config, initial)
        }
        if rc != 0 {
            let e = Glibc.errno
            var hint = ""
            if e == EBUSY, let holder = try? info().consumer { hint = "line is used by '\(holder)'" }
            else if e == EBUSY { hint = "another process holds the line" }
            else if e == EACCES || e == EPERM { hint = "no permission on the gpiochip device: is the user in group gpio?" }
            throw error("gpiod_line_request", e, hint: hint)
        }
    }

    /// `gpiod_line_release`
    public func release() { gpiod_line_release(handle) }

    /// `gpiod_line_get_value`: 0 or 1 (logical: inverted for active-low requests).
    public func value() throws(GPIOError) -> Int {
        let v = gpiod_line_get_value(handle)
        if v < 0 { throw error("gpiod_line_get_value") }
        return Int(v)
    }

    /// `gpiod_line_set_value`
    public func setValue(_ v: Int) throws(GPIOError) {
        if gpiod_line_set_value(handle, v == 0 ? 0 : 1) != 0 { throw error("gpiod_line_set_value") }
    }

    /// `gpiod_line_event_wait`: true when an event is ready within `timeoutNanos`.
    public func waitForEvent(timeoutNanos: Int64) throws(GPIOError) -> Bool {
        var ts = timespec(tv_sec: Int(timeoutNanos / 1_000_000_000), tv_nsec: Int(timeoutNanos % 1_000_000_000))
        let rc = gpiod_line_event_wait(handle, &ts)
        if rc < 0 {
            if Glibc.errno == EINTR { return false }
            throw error("gpiod_line_event_wait")
        }
        return rc == 1
    }

    /// `gpiod_line_event_read_multiple` into `buffer`: the number of events read (blocks until at
    /// least one is ready; call after `waitForEvent` or a poll on `eventDescriptor`).
    public func readEvents(into buffer: UnsafeMutableBufferPointer<gpiod_line_event>) throws(GPIOError) -> Int {
        let n = gpiod_line_event_read_multiple(handle, buffer.baseAddress, UInt32(buffer.count))
        if n < 0 { throw error("gpiod_line_event_read_multiple") }
        return Int(n)
    }

    /// `gpiod_line_event_get_fd`: the descriptor to poll for events; -1 when not requested for events.
    public var eventDescriptor: Int32 { gpiod_line_event_get_fd(handle) }
}

extension gpiod_line_event {
    /// The kernel's timestamp in nanoseconds.
    public var nanos: Int64 { Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec) }
    public var isRising: Bool { event_type == Int32(GPIOD_LINE_EVENT_RISING_EDGE) }
}

/// A line as `vigil probe` shows it.
public struct GPIOLineInfo: Sendable, Equatable {
    public var offset: Int
    public var name: String?
    public var consumer: String?
    public var output: Bool
    public var activeLow: Bool
    public var bias: String
    public var used: Bool

    /// `   4  "GPIO4"       input  used by "vigil"`
    public var probeLine: String {
        var parts = ["\(offset)".leftPadded(4), (name.map { "\"\($0)\"" } ?? "unnamed").padded(12), output ? "output" : "input"]
        if activeLow { parts.append("active-low") }
        if bias != "as-is" { parts.append(bias) }
        if used { parts.append("used by \"\(consumer ?? "kernel")\"") }
        return parts.joined(separator: "  ")
    }
}

/// A gpiochip as `vigil probe` lists it.
public struct GPIOChipInfo: Sendable, Equatable {
    public var path: String
    public var name: String
    public var label: String
    public var lineCount: Int
}

public enum GPIOChips {
    /// Every `/dev/gpiochip*` this process can open, by number.
    public static func list(devicesAt dir: String = "/dev") throws(GPIOError) -> [GPIOChipInfo] {
        guard let d = opendir(dir) else { throw GPIOError(call: "opendir", chip: dir, errno: Glibc.errno) }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix("gpiochip"), name.count > 8, name.dropFirst(8).allSatisfy(\.isNumber) { names.append(name) }
        }
        names.sort { Int($0.dropFirst(8))! < Int($1.dropFirst(8))! }
        // gpiod_chip_open directly: GPIOChip's error path lists chips, and must not recurse.
        return names.compactMap { name in
            guard let chip = gpiod_chip_open(dir + "/" + name) else { return nil }
            defer { gpiod_chip_close(chip) }
            return GPIOChipInfo(path: dir + "/" + name, name: String(cString: gpiod_chip_name(chip)),
                                label: String(cString: gpiod_chip_label(chip)), lineCount: Int(gpiod_chip_num_lines(chip)))
        }
    }
}

fileprivate extension String {
    func padded(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
