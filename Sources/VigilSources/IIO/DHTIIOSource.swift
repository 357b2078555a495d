import Synchronization
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// What a `dht_iio` source has seen since it was built; a snapshot, safe to take from any thread.
public struct DHTIIOCounters: Sendable, Equatable {
    /// Successful reads; each delivered one temperature and one humidity.
    public var reads = 0
    /// Failed reads (first tries and retries alike) by cause: the driver's EIO (bad checksum or
    /// timing), its ETIMEDOUT (no answer), any other errno (EISDIR, EACCES, EINVAL, EAGAIN …), a
    /// file that held no number, and a device or file that was not there (ENOENT, ENODEV, no
    /// device with that name, or more than one).
    public var eio = 0
    public var etimedout = 0
    public var otherErrors = 0
    public var garbage = 0
    public var missing = 0
    /// Reads that were retries of a failed one.
    public var retries = 0
    /// Scheduled readings that gave nothing after all retries (dropped, never made up).
    public var lost = 0
    /// The state last reported: nil before the first reading or failure.
    public var isUp: Bool?
    /// The IIO device directory in use; nil while none is found.
    public var device: String?
    /// Readings lost since the last good one.
    var lostInStreak = 0

    public init() {}

    mutating func count(_ kind: SysfsFailureKind) {
        switch kind {
        case .missing: missing += 1
        case .eio: eio += 1
        case .etimedout: etimedout += 1
        case .otherErrors: otherErrors += 1
        case .garbage: garbage += 1
        }
    }
}

extension DHTIIOCounters: PublishedCounters {
    public func publish(into w: inout CountWriter) {
        w("reads", reads); w("eio", eio); w("etimedout", etimedout); w("other_errors", otherErrors)
        w("garbage", garbage); w("missing", missing); w("retries", retries); w("lost", lost)
    }
}

/// `kind: dht_iio` — a DHT11/DHT22 handled by the Linux `dht11` IIO driver (see `DHTIIOSourceConfig`).
///
/// Every `interval` it reads `in_temp_input` then `in_humidityrelative_input` of the device
/// directory (each open/read/close). Reading the first makes the driver talk to the sensor
/// (≈ 25 ms, up to 1 s when it does not answer); the second is served from the driver's cache of
/// that same exchange, so both readings carry one timestamp, taken when the first returned. The
/// values are milli-units: `23100` → 23.1 °C, `45200` → 45.2 %RH.
///
/// A failed read — EIO (checksum, lost sync), ETIMEDOUT (no answer), another errno, or a file
/// without a number — is counted by cause and tried again `DHTIIOSourceConfig.retryDelay` (2 s)
/// later, up to `retries` times but never at or past the next scheduled read; a device that is not
/// there is not retried until then. A reading that fails all its tries is dropped and counted as
/// `lost`, and the source reports down (`source_down`) with the last failure's reason — the OS's
/// words for the errno — logging a warning once per streak of failures; the next good read reports
/// up and logs its recovery at info. No two reads start less than 2 s apart.
///
/// Without `path` the device is found by its `name` attribute under `root` (`dht11` matches
/// `dht11@4`), again after it went missing, so a reloaded driver with a new number is found.
/// Between reads the thread sleeps in slices of at most 250 ms, calling `sink.idle` and watching
/// `stop`; only a read in progress (at most about 1 s) delays either.
public final class DHTIIOSource: Source, DeviceStateReporting {
    public let name: String
    public let channels: [ChannelInfo]
    public let config: DHTIIOSourceConfig

    private let log: SourceLogger
    private let readFile: SysfsReader
    /// Delay before a retry, and the least time between the starts of two reads.
    private let retryDelay: Int64
    private let state: SourceReporter<DHTIIOCounters>

    static let temperatureFile = "in_temp_input"
    static let humidityFile = "in_humidityrelative_input"

    /// Throws when `config.validate()` finds problems.
    public convenience init(config: DHTIIOSourceConfig, log: @escaping SourceLogger = { _, _ in }) throws(SourceConfigError) {
        let issues = config.validate()
        if !issues.isEmpty { throw SourceConfigError(issues: issues) }
        self.init(unvalidated: config, log: log)
    }

    /// Without the config checks, with the retry delay and the file reader to use: for tests, which
    /// need intervals under 2 s and a driver that fails on demand.
    init(unvalidated config: DHTIIOSourceConfig, log: @escaping SourceLogger = { _, _ in },
         retryDelay: Int64 = DHTIIOSourceConfig.retryDelay.nanoseconds,
         readFile: @escaping SysfsReader = SysfsFile.read) {
        self.config = config
        name = config.name
        channels = [ChannelInfo(name: config.channels.temperature, unit: "°C"),
                    ChannelInfo(name: config.channels.humidity, unit: "%RH")]
        self.log = log
        self.readFile = readFile
        self.retryDelay = retryDelay
        state = SourceReporter(source: config.name, DHTIIOCounters())
        if let p = config.path { state.update { $0.device = p } }
    }

    public var counters: DHTIIOCounters { state.counters }

    /// The device directory in use, or what is looked for: `iio device 'dht11' under /sys/bus/iio/devices`.
    public var portDescription: String {
        state.counters.device ?? "iio device '\(config.effectiveDeviceName)' under \(config.root)"
    }

    public func run(into sink: ReadingSink, until stop: StopSignal) {
        let interval = max(config.interval.nanoseconds, 1_000_000)
        var next = Clock.monotonicNanos()
        var lastStart: Int64? = nil
        state.push(to: sink)
        while !stop.isRaised {
            let start = max(next, lastStart.map { $0 + retryDelay } ?? next)
            guard SourcePacing.sleep(untilMonotonic: start, sink, stop) else { break }
            readCycle(sink, stop, deadline: next + interval, lastStart: &lastStart)
            sink.idle(monoNanos: Clock.monotonicNanos(), wallNanos: Clock.wallNanos())
            next += interval
            // Fell a whole interval behind (reads blocked for long): start the schedule over.
            let now = Clock.monotonicNanos()
            if now >= next + interval { next = now }
        }
    }

    /// One scheduled reading: a read, and up to `retries` more `retryDelay` after each failure
    /// while that is before `deadline`. Delivers both values and returns true, or counts the
    /// reading as lost; false also when `stop` ended it (then nothing is counted as lost).
    @discardableResult
    func readCycle(_ sink: ReadingSink, _ stop: StopSignal, deadline: Int64, lastStart: inout Int64?) -> Bool {
        var tries = 0
        var reason = ""
        attempts: while true {
            lastStart = Clock.monotonicNanos()
            switch readOnce() {
            case .reading(let t, let h, let mono, let wall):
                sink.reading(channel: 0, value: t, monoNanos: mono, wallNanos: wall)
                sink.reading(channel: 1, value: h, monoNanos: mono, wallNanos: wall)
                let (wasUp, streak) = state.update(pushingTo: sink) { s in
                    defer { s.isUp = true; s.lostInStreak = 0 }
                    s.reads += 1
                    return (s.isUp, s.lostInStreak)
                }
                if wasUp != true {
                    let device = portDescription
                    if wasUp == false {
                        log(.info, "dht_iio \(name): reading \(device) again after \(streak) lost reading(s)")
                    } else {
                        log(.info, "dht_iio \(name): reading \(device)")
                    }
                    state.report(up: true, device: device, reason: "reading \(device)", to: sink)
                }
                return true
            case .failure(let kind, let why):
                reason = why
                state.update(pushingTo: sink) { $0.count(kind) }
                log(.debug, "dht_iio \(name): read failed (\(kind.rawValue)): \(why)")
                guard kind != .missing, tries < config.retries else { break attempts }
                let at = Clock.monotonicNanos() + retryDelay
                guard at < deadline else { break attempts }
                guard SourcePacing.sleep(untilMonotonic: at, sink, stop) else { return false }
                tries += 1
                state.update(pushingTo: sink) { $0.retries += 1 }
            }
        }
        let wasUp = state.update { s in
            defer { s.isUp = false }
            s.lost += 1
            s.lostInStreak += 1
            return s.isUp
        }
        if wasUp != false {
            let retried = tries > 0 ? " after \(tries) retr\(tries == 1 ? "y" : "ies")" : ""
            log(.warning, "dht_iio \(name): no reading\(retried): \(reason); readings are dropped until it recovers (further failures are only counted)")
            state.report(up: false, device: portDescription, reason: reason, to: sink)
        } else {
            state.push(to: sink)
        }
        return false
    }

    enum Attempt: Equatable {
        case reading(temperature: Double, humidity: Double, mono: Int64, wall: Int64)
        case failure(SysfsFailureKind, String)
    }

    /// One read of both files (finding the device first when needed).
    func readOnce() -> Attempt {
        let dir: String
        switch findDevice() {
        case .success(let d): dir = d
        case .failure(let why): return .failure(.missing, why.text)
        }
        let temperature: Double
        switch readValue(dir + "/" + Self.temperatureFile) {
        case .success(let v): temperature = v
        case .failure(let f): return .failure(f.kind, f.text)
        }
        let mono = Clock.monotonicNanos()
        let wall = Clock.wallNanos()
        switch readValue(dir + "/" + Self.humidityFile) {
        case .success(let h): return .reading(temperature: temperature, humidity: h, mono: mono, wall: wall)
        case .failure(let f): return .failure(f.kind, f.text)
        }
    }

    struct Failure: Error { var kind: SysfsFailureKind; var text: String }

    private func readValue(_ path: String) -> Result<Double, Failure> {
        switch readFile(path) {
        case .failure(let e):
            let kind = SysfsFailureKind.classify(e)
            // The device may come back under another number: look it up again.
            if kind == .missing && config.path == nil { state.update { $0.device = nil } }
            return .failure(Failure(kind: kind, text: e.description))
        case .success(let bytes):
            guard let milli = IIOParsing.milliValue(bytes) else {
                return .failure(Failure(kind: .garbage, text: "\(path): not a whole number of milli-units: \(Self.preview(bytes))"))
            }
            return .success(IIOParsing.units(fromMilli: milli))
        }
    }

    struct Reason: Error { var text: String }

    /// The configured path, the device found before, or a fresh lookup by name under `root`.
    func findDevice() -> Result<String, Reason> {
        if let p = config.path { return .success(p) }
        if let d = state.counters.device { return .success(d) }
        let wanted = config.effectiveDeviceName
        let entries: [String]
        switch SysfsFile.list(config.root) {
        case .success(let names): entries = names
        case .failure(let e): return .failure(Reason(text: "cannot list \(config.root): \(e.message)"))
        }
        let devices = entries.filter { $0.hasPrefix("iio:device") }
            .sorted { (Int($0.dropFirst(10)) ?? Int.max, $0) < (Int($1.dropFirst(10)) ?? Int.max, $1) }
        var found: [(entry: String, name: String)] = []
        var others: [String] = []
        for entry in devices {
            guard case .success(let bytes) = readFile(config.root + "/" + entry + "/name"),
                  let n = IIOParsing.deviceName(bytes) else { continue }
            if IIOParsing.nameMatches(n, wanted: wanted) { found.append((entry, n)) } else { others.append("\(entry) \(n)") }
        }
        switch found.count {
        case 0:
            let seen = others.isEmpty ? "" : " (found: \(others.joined(separator: ", ")))"
            return .failure(Reason(text: "no iio device named '\(wanted)' under \(config.root)\(seen)"))
        case 1:
            let dir = config.root + "/" + found[0].entry
            state.update { $0.device = dir }
            log(.info, "dht_iio \(name): using \(dir) (name \(found[0].name))")
            return .success(dir)
        default:
            let list = found.map { "\($0.entry) (\($0.name))" }.joined(separator: ", ")
            return .failure(Reason(text: "\(found.count) iio devices match device_name '\(wanted)' under \(config.root): \(list); set path or the full name as device_name"))
        }
    }

    /// At most 40 bytes of a file, quoted, for a log line.
    static func preview(_ bytes: [UInt8]) -> String {
        var b = bytes
        while let last = b.last, IIOParsing.isSpace(last) { b.removeLast() }
        let cut = b.prefix(40)
        return "'" + String(decoding: cut, as: UTF8.self) + (b.count > 40 ? "…'" : "'")
    }
}
