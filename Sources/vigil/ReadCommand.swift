import ArgumentParser
import Logging
import Synchronization
import VigilAgent
import VigilCore
import VigilSources
#if canImport(Glibc)
import Glibc
#endif

/// Reads the configured sensors and prints every reading: the way to check wiring before running
/// the agent, with no broker and no detector involved.
struct Read: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read the configured sensors and print each reading (no detectors, no MQTT): to check wiring.",
        discussion: "Each line: time, source, channel, value and unit. At the end, each source's counters (failed reads by kind, edges, lines) are printed. Exits after --count readings or --duration seconds, whichever comes first, or at SIGINT/SIGTERM.")

    @Option(name: .shortAndLong, help: "Config file (YAML).")
    var config: String = "/etc/vigil/vigil.yaml"

    @Option(help: "Only this source (by name).")
    var source: String?

    @Option(help: "Stop after this many readings (all channels together).")
    var count: Int?

    @Option(help: "Stop after this many seconds (default 30 when --count is not given).")
    var duration: Double?

    @Option(help: "Log level for the sources' messages on standard error.")
    var logLevel: String = "warning"

    func run() throws {
        let stopSignals = StopSignals.block()

        var config = loadConfig(self.config)
        if let name = source {
            guard config.sources.contains(where: { $0.name == name }) else {
                exitWithConfigError("--source: no source named '\(name)' (sources: \(config.sources.map(\.name).joined(separator: ", ")))")
            }
            config.sources.removeAll { $0.name != name }
        }
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        LoggingSystem.bootstrap { StderrLogHandler(label: $0, level: level) }
        let logger = Logger(label: "vigil")
        let sources = try Agent.buildSources(config, logger: logger)

        // Ends at a signal, the deadline, or when the printers reached --count.
        let countReached = StopSignal()
        let printed = ReadingCount()
        let limit = count ?? Int.max
        let sinks = sources.map { PrintingSink(source: $0, printed: printed, limit: limit, stop: countReached) }
        let loops = SourceThreads(zip(sources, sinks).map { s, sink in SourceThreads.Loop(source: s) { sink } })
        let runner = ServiceRunner(stopOn: .signals(stopSignals, after: duration ?? (count == nil ? 30 : 86_400 * 365), orWhen: countReached),
                                   logger: logger)
        runner.add(loops, stage: .sources)
        guard case .stopTriggered = runner.run().ending else { throw ExitCode(ExitStatus.cannotStart) }

        // The counters each source pushed last (its thread has ended).
        for (s, sink) in zip(sources, sinks) {
            guard let c = sink.lastCounters else { continue }
            writeOut("\(s.name): " + c.counts.map { "\($0.name)=\($0.value)" }.joined(separator: " "))
        }
    }
}

/// Prints each reading as one line, and raises `stop` once `limit` readings were printed; keeps the
/// source's counters for the end (only the source's thread writes them, read after it is joined).
final class PrintingSink: ReadingSink, @unchecked Sendable {
    let source: Source
    let printed: ReadingCount
    let limit: Int
    let stop: StopSignal
    private(set) var lastCounters: SourceCounters?
    init(source: Source, printed: ReadingCount, limit: Int, stop: StopSignal) {
        self.source = source; self.printed = printed; self.limit = limit; self.stop = stop
    }

    func reading(channel: Int, value: Double, monoNanos: Int64, wallNanos: Int64) {
        let n = printed.value.add(1, ordering: .relaxed).newValue
        guard n <= limit else { return }
        let c = source.channels[channel]
        var text = "\(Timestamp.rfc3339(wallNanos)) \(source.name) \(c.name) \(value)"
        if !c.unit.isEmpty { text += " \(c.unit)" }
        writeOut(text)
        if n == limit { stop.raise() }
    }

    func idle(monoNanos: Int64, wallNanos: Int64) {}
    func counters(_ counters: SourceCounters) { lastCounters = counters }
    func sourceState(up: Bool, device: String, reason: String, wallNanos: Int64) {}
}

/// Readings printed so far, by all sources' threads.
final class ReadingCount: Sendable {
    let value = Atomic<Int>(0)
}

/// One line on standard output, unbuffered (the output may be a pipe read as it comes).
func writeOut(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    bytes.withUnsafeMutableBytes { _ = write(1, $0.baseAddress, $0.count) }
}
