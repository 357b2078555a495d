import ArgumentParser
import VigilAgent
import VigilCore
import VigilSources
#if canImport(Glibc)
import Glibc
#endif

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "A virtual ESP8266: a pseudo-terminal printing simulated readings (with injected faults) in a serial line format.",
        discussion: "Prints the pty's path, then writes one line per tick until SIGINT/SIGTERM (or --duration). Point a `kind: serial` source at the path (or at --link). Channels, rate, seed and faults come from the first simulator source of --config, else from the defaults (temperature, humidity, sound; a spike on each about twice an hour).")

    @Flag(help: "Write to a pseudo-terminal (the only output this command has; required for clarity).")
    var serial = false

    @Option(help: "Line format: kv, csv, semicolon or json.")
    var format: String = "kv"

    @Option(help: "Lines per second (overrides the config's rate).")
    var rate: Double?

    @Option(help: "Also make this symlink to the pty (stable path for configs), e.g. /tmp/ttyESP0.")
    var link: String?

    @Option(name: .shortAndLong, help: "Config file whose first simulator source to use.")
    var config: String?

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    func run() throws {
        guard serial else { throw ValidationError("vigil simulate needs --serial (the virtual ESP8266 on a pseudo-terminal)") }
        guard let lineFormat = SerialLineFormat(rawValue: format) else {
            throw ValidationError("--format: '\(format)' is not a format (known: kv, csv, semicolon, json)")
        }
        var source = SimulatorSourceConfig(
            name: "esp8266", rate: 1, seed: 1, channels: SimulatedChannel.defaults,
            faults: SimulatedChannel.defaults.map { FaultSpec(kind: .spike, channel: $0.name, ratePerHour: 2, magnitude: 10) })
        if let path = config {
            let c = loadConfig(path)
            guard let s = c.sources.lazy.compactMap({ $0.settings as? SimulatorSourceConfig }).first else {
                exitWithConfigError("\(path): has no `kind: simulator` source to take channels and faults from")
            }
            source = s
        }
        if let r = rate { source.rate = r }
        var model: SimulatorModel
        do { model = try SimulatorModel(channels: source.channels, faults: source.faults, rateHz: source.rate, seed: source.seed) } catch {
            exitWithConfigError("simulator: \(error)")
        }
        let pty: VirtualSerialPort
        do { pty = try VirtualSerialPort(link: link) } catch {
            printError("cannot create a pseudo-terminal: \(error)")
            throw ExitCode(1)
        }
        defer { pty.close() }

        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

        // Straight to fd 1, unbuffered: a script reading the path must get it now.
        var pathLine = Array((pty.path + "\n").utf8)
        pathLine.withUnsafeMutableBytes { _ = write(1, $0.baseAddress, $0.count) }
        printError("virtual ESP8266 on \(pty.path): \(source.channels.count) channels, \(format) at \(source.rate) Hz")

        var formatter = SerialLineFormatter(format: lineFormat, fields: source.channels.map(\.name))
        var values = [Double?](repeating: nil, count: source.channels.count)
        let start = Clock.monotonicNanos()
        let end = duration.map { start + Int64($0 * 1e9) }
        var reported = 0
        while true {
            let due = start + model.nextOffsetNanos
            if let e = end, due >= e { break }
            // Sleep until the tick, or return at once on SIGINT/SIGTERM.
            let wait = max(0, due - Clock.monotonicNanos())
            var ts = timespec(tv_sec: Int(wait / 1_000_000_000), tv_nsec: Int(wait % 1_000_000_000))
            if sigtimedwait(&stopSignals, nil, &ts) > 0 { break }
            for i in values.indices { values[i] = nil }
            model.step { channel, value in values[channel] = value }
            _ = pty.write(line: formatter.next(values))
            while reported < model.groundTruth.count {
                let f = model.groundTruth[reported]
                printError("injected \(f.kind.rawValue) on \(f.channel) from +\(Double(f.startNanos) / 1e9)s to +\(Double(f.endNanos) / 1e9)s (magnitude \(f.magnitude))")
                reported += 1
            }
        }
    }
}
