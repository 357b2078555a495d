import Synchronization
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

public typealias SerialLogLevel = SourceLogLevel

/// What a serial source has seen since it was built; a snapshot, safe to take from any thread.
/// The parser's counts (`lines`, `readings`, `badLines`, …) read through as if they were its own.
@dynamicMemberLookup
public struct SerialCounters: Sendable, Equatable {
    /// What the line parser counted.
    public var parse = SerialParseCounters()
    /// Lines longer than `max_line_length`, discarded (the splitter's count).
    public var overlongLines = 0
    /// Bytes read from the device.
    public var bytes = 0
    /// Successful opens after the first one.
    public var reconnects = 0
    /// Attempts to open (or find) the device that failed.
    public var openFailures = 0
    /// Times an open device went away (hang-up, read error, end of file).
    public var disconnects = 0
    public var isOpen = false
    /// The path of the open device (after a `usb:` lookup), nil while closed.
    public var device: String?

    public init() {}

    public subscript<T>(dynamicMember field: KeyPath<SerialParseCounters, T>) -> T { parse[keyPath: field] }
}

extension SerialCounters: PublishedCounters {
    public func publish(into w: inout CountWriter) {
        w("lines", parse.lines); w("readings", parse.readings); w("bad_lines", parse.badLines)
        w("garbage_lines", parse.garbageLines); w("overlong_lines", overlongLines)
        w("unknown_fields", parse.unknownFields); w("reconnects", reconnects)
    }
}

/// The config a serial source was built from cannot be used.
public typealias SerialConfigError = SourceConfigError

/// `kind: serial` — reads lines of readings from a serial device (see `SerialSourceConfig`).
///
/// Real serial ports are opened through libserialport (rate, bits, parity, stop bits, flow
/// control); pseudo-terminals and other devices libserialport refuses through termios. The
/// device's descriptor is polled together with `stop`'s descriptor, with a timeout that ends
/// when the sink's next time-driven work is due (`ReadingSink.nextIdleDeadline`), so an idle
/// source does not wake up in between and `stop` is seen at once. Bytes go through a
/// `LineSplitter` and a `LineParser`; every data line delivers one value per channel (NaN for a
/// missing field), stamped with the time the chunk that completed the line was read (monotonic
/// and wall clock). Each chunk is one burst (`ReadingSink.beginBurst`), so the events it caused
/// reach the outbox in one write.
///
/// When the device cannot be opened, or disappears (unplug, hang-up, pty closed, read error), the
/// source closes it and tries again after `reopen_min`, doubling the delay up to `reopen_max`
/// while attempts keep failing; the delay starts over once a session delivered lines. It never
/// gives up and never busy-loops; the rest of the agent is unaffected.
public final class SerialSource: Source, DeviceStateReporting {
    public let name: String
    public let channels: [ChannelInfo]
    public let config: SerialSourceConfig

    public typealias Logger = SourceLogger

    private let log: Logger
    private let reporter: SourceReporter<SerialCounters>

    static let readBufferSize = 4096

    /// Throws when `config.validate()` finds problems.
    public init(config: SerialSourceConfig, log: @escaping Logger = { _, _ in }) throws(SerialConfigError) {
        let issues = config.validate()
        if !issues.isEmpty { throw SerialConfigError(issues: issues) }
        self.config = config
        name = config.name
        channels = config.fields.map { ChannelInfo(name: $0.channel, unit: $0.unit) }
        self.log = log
        reporter = SourceReporter(source: config.name, SerialCounters())
    }

    public var counters: SerialCounters { reporter.counters }

    /// `path`, or `usb 10c4:ea60 (serial X)`.
    public var portDescription: String { config.path ?? "usb \(config.usb.map(\.description) ?? "?")" }

    public func run(into sink: ReadingSink, until stop: StopSignal) {
        let splitter = LineSplitter(maxLineLength: config.maxLineLength)
        let parser = LineParser(config: config)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readBufferSize, alignment: 16)
        defer { buffer.deallocate() }
        var backoff = Backoff(min: max(config.reopenMin.nanoseconds, 1_000_000), max: config.reopenMax.nanoseconds)
        var everOpened = false
        reporter.push(to: sink)

        func report(_ up: Bool, _ reason: String) {
            reporter.reportIfChanged(up: up, device: portDescription, reason: reason, to: sink)
        }

        while !stop.isRaised {
            let device: SerialDevice
            do {
                device = try openDevice()
            } catch {
                reporter.update { $0.openFailures += 1 }
                let delay = backoff.next()
                log(.warning, "serial \(name): cannot open \(error); retrying in \(Self.format(delay))")
                report(false, "cannot open: \(error)")
                SourcePacing.sleep(untilMonotonic: Clock.monotonicNanos() + delay, sink, stop)
                continue
            }
            splitter.reset()
            let isReconnect = everOpened
            everOpened = true
            reporter.update {
                $0.isOpen = true
                $0.device = device.path
                if isReconnect { $0.reconnects += 1 }
            }
            log(.info, "serial \(name): opened \(device.path) (\(device.backend), \(settingsSummary))")
            report(true, "opened \(device.path)")

            let (reason, gotLines) = readLoop(device, splitter, parser, buffer, sink, stop)
            device.close()
            reporter.update {
                $0.isOpen = false
                $0.device = nil
                if !stop.isRaised { $0.disconnects += 1 }
            }
            if stop.isRaised { break }
            if gotLines { backoff.reset() }
            let delay = backoff.next()
            log(.warning, "serial \(name): \(device.path) \(reason); reopening in \(Self.format(delay))")
            report(false, reason)
            SourcePacing.sleep(untilMonotonic: Clock.monotonicNanos() + delay, sink, stop)
        }
    }

    /// `115200 8N1`
    var settingsSummary: String {
        let parity = switch config.parity { case .none: "N"; case .odd: "O"; case .even: "E" }
        let flow = config.flowControl == .none ? "" : " \(config.flowControl.rawValue)"
        return "\(config.baud) \(config.dataBits)\(parity)\(config.stopBits)\(flow), \(config.format.rawValue)"
    }

    /// Finds and opens the device: a `usb:` selector is looked up first; a pty goes to termios;
    /// a real port to libserialport, falling back to termios for a device it does not recognize.
    func openDevice() throws(SerialPortError) -> SerialDevice {
        let path: String
        if let p = config.path {
            path = p
        } else if let usb = config.usb {
            path = try SerialPorts.resolve(usb)
        } else {
            throw SerialPortError(device: name, operation: "config", code: .invalidArgument, message: "no path or usb")
        }
        if TermiosPort.isPseudoTerminal(path) { return try openTermios(path) }
        do throws(SerialPortError) {
            let port = try SerialPort(name: path)
            return try LibSerialPortDevice(port: port, baud: config.baud, dataBits: config.dataBits, parity: config.parity,
                                           stopBits: config.stopBits, flowControl: config.flowControl)
        } catch where error.code == .invalidArgument && access(path, F_OK) == 0 {
            log(.debug, "serial \(name): libserialport does not recognize \(path) (\(error.operation)); opening it with termios")
            return try openTermios(path)
        }
    }

    private func openTermios(_ path: String) throws(SerialPortError) -> SerialDevice {
        let port = try TermiosPort(path: path)
        do throws(SerialPortError) {
            let rateSet = try port.configure(baud: config.baud, dataBits: config.dataBits, parity: config.parity,
                                             stopBits: config.stopBits, flowControl: config.flowControl)
            if !rateSet && !TermiosPort.isPseudoTerminal(path) {
                log(.warning, "serial \(name): \(path): termios has no constant for \(config.baud) baud; the rate is left unchanged")
            }
        } catch where error.code == .system(errno: ENOTTY) {
            // Not a terminal (a FIFO, a socket): read it as a plain byte stream.
            log(.debug, "serial \(name): \(path) is not a terminal; reading it as a byte stream")
        }
        return port
    }

    /// Reads until the device goes away or `stop`; returns why it ended and whether any line arrived.
    private func readLoop(_ device: SerialDevice, _ splitter: LineSplitter, _ parser: LineParser,
                          _ buffer: UnsafeMutableRawBufferPointer, _ sink: ReadingSink, _ stop: StopSignal) -> (String, Bool) {
        let fd = device.fileDescriptor
        let channelCount = channels.count
        var gotLines = false
        var loggedBadLine = false
        var lastHeader: [String]? = parser.columns
        let bytes = UnsafeMutableBufferPointer<UInt8>(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: buffer.count)
        while !stop.isRaised {
            let readiness: SerialIO.Readiness
            do {
                // Asleep until bytes arrive, the sink's next time-driven work is due, or stop.
                let now = Clock.monotonicNanos()
                let timeout = StopSignal.milliseconds(until: sink.nextIdleDeadline(monoNanos: now), from: now)
                readiness = try SerialIO.poll(fd, device: device.path, timeoutMilliseconds: timeout, orStop: stop)
            } catch {
                return ("poll failed: \(error.message)", gotLines)
            }
            switch readiness {
            case .timeout:
                sink.idle(monoNanos: Clock.monotonicNanos(), wallNanos: Clock.wallNanos())
                continue
            case .hangup(let why):
                return (why, gotLines)
            case .readable:
                break
            }
            let n: Int
            do {
                n = try SerialIO.read(fd, device: device.path, into: buffer)
            } catch {
                return ("read failed: \(error.message)", gotLines)
            }
            if n == 0 { return ("reached end of file (hung up)", gotLines) }
            if n < 0 { continue }
            let mono = Clock.monotonicNanos()
            let wall = Clock.wallNanos()
            sink.beginBurst()
            splitter.feed(UnsafeBufferPointer(rebasing: bytes[0..<n])) { line in
                gotLines = true
                switch parser.parse(line) {
                case .data:
                    for c in 0..<channelCount {
                        sink.reading(channel: c, value: parser.value(c), monoNanos: mono, wallNanos: wall)
                    }
                case .header:
                    if parser.columns != lastHeader {
                        lastHeader = parser.columns
                        log(.info, "serial \(name): columns \(parser.columns?.joined(separator: ",") ?? "")")
                    }
                case .bad:
                    if !loggedBadLine {
                        loggedBadLine = true
                        log(.info, "serial \(name): a line gave no value for any field (more are only counted): \(Self.preview(line))")
                    }
                case .garbage:
                    break
                }
            }
            sink.endBurst()
            if !parser.newUnknown.isEmpty {
                log(.info, "serial \(name): ignoring field(s) not in fields: \(parser.takeNewUnknownFields().joined(separator: ", "))")
            }
            let p = parser.counters
            let overlong = splitter.overlongLines
            reporter.update(pushingTo: sink) {
                $0.parse = p
                $0.overlongLines = overlong
                $0.bytes += n
            }
            sink.idle(monoNanos: mono, wallNanos: wall)
        }
        return ("stopped", gotLines)
    }

    static func format(_ nanos: Int64) -> String { ConfigDuration(nanoseconds: nanos).description }

    /// At most 80 bytes of a line, for a log.
    static func preview(_ line: UnsafeBufferPointer<UInt8>) -> String {
        let cut = UnsafeBufferPointer(rebasing: line[0..<min(line.count, 80)])
        return "'" + String(decoding: cut, as: UTF8.self) + (line.count > 80 ? "…'" : "'")
    }
}
