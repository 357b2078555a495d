import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilSources

@Suite struct DHTIIOSourceTests {
    /// A fake IIO device directory: `name`, `in_temp_input`, `in_humidityrelative_input`.
    static func device(_ tree: SysfsTree, _ entry: String, name: String = "dht11@4", temperature: String = "23100\n",
                       humidity: String = "45200\n") {
        tree.write("\(entry)/name", name + "\n")
        tree.write("\(entry)/in_temp_input", temperature)
        tree.write("\(entry)/in_humidityrelative_input", humidity)
    }

    static func config(_ tree: SysfsTree, path: String? = nil, deviceName: String? = nil, interval: ConfigDuration = .seconds(10),
                       retries: Int = 2) -> DHTIIOSourceConfig {
        DHTIIOSourceConfig(name: "dht", path: path, deviceName: deviceName, root: tree.root, interval: interval,
                           channels: DHTIIOChannelNames(temperature: "air_temp", humidity: "air_rh"), retries: retries)
    }

    /// One scheduled reading with no deadline in sight.
    @discardableResult
    static func cycle(_ source: DHTIIOSource, _ sink: CollectingSink, deadline: Int64 = .max) -> Bool {
        var last: Int64? = nil
        return source.readCycle(sink, StopSignal(), deadline: deadline, lastStart: &last)
    }

    @Test func findsTheDeviceByNameAndDeliversBothChannelsWithOneTimestamp() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        Self.device(tree, "iio:device0", name: "bme280", temperature: "21000\n")
        Self.device(tree, "iio:device1")
        let events = SysfsEvents()
        let source = try DHTIIOSource(config: Self.config(tree), log: events.logger)
        #expect(source.channels == [ChannelInfo(name: "air_temp", unit: "°C"), ChannelInfo(name: "air_rh", unit: "%RH")])
        #expect(source.portDescription == "iio device 'dht11' under \(tree.root)")

        let sink = events.sink
        let before = (Clock.monotonicNanos(), Clock.wallNanos())
        #expect(Self.cycle(source, sink))
        let after = (Clock.monotonicNanos(), Clock.wallNanos())
        let r = sink.readings
        #expect(r.map(\.channel) == [0, 1])
        #expect(r.map(\.value) == [23.1, 45.2])
        #expect(r[0].mono == r[1].mono && r[0].wall == r[1].wall)
        #expect(r[0].mono >= before.0 && r[0].mono <= after.0 && r[0].wall >= before.1 && r[0].wall <= after.1)

        let dir = tree.path("iio:device1")
        #expect(source.portDescription == dir)
        var want = DHTIIOCounters()
        want.reads = 1
        want.isUp = true
        want.device = dir
        #expect(source.counters == want)
        #expect(events.changes == [.init(up: true, device: dir, reason: "reading \(dir)")])
        #expect(events.lines(.info) == ["dht_iio dht: using \(dir) (name dht11@4)", "dht_iio dht: reading \(dir)"])
        #expect(events.lines(.warning) == [])
    }

    @Test func negativeTemperatureAndAPathGivenDirectly() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        Self.device(tree, "dev", name: "whatever", temperature: "-4200\n", humidity: "100000\n")
        let source = try DHTIIOSource(config: Self.config(tree, path: tree.path("dev")))
        let sink = CollectingSink()
        #expect(Self.cycle(source, sink))
        #expect(sink.readings.map(\.value) == [-4.2, 100])
        #expect(source.portDescription == tree.path("dev"))
    }

    @Test func anEIOIsRetriedAndTheReadingArrives() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        Self.device(tree, "iio:device0")
        let failing = FailingReader()
        failing.fail("/in_temp_input", with: [EIO])
        let events = SysfsEvents()
        let source = DHTIIOSource(unvalidated: Self.config(tree), log: events.logger, retryDelay: 20_000_000, readFile: failing.reader)
        let sink = events.sink
        let start = Clock.monotonicNanos()
        #expect(Self.cycle(source, sink))
        #expect(Clock.monotonicNanos() - start >= 20_000_000)
        #expect(sink.readings.map(\.value) == [23.1, 45.2])
        let c = source.counters
        #expect(c.eio == 1 && c.retries == 1 && c.reads == 1 && c.lost == 0)
        #expect(c.etimedout == 0 && c.otherErrors == 0 && c.garbage == 0 && c.missing == 0)
        #expect(events.changes.map(\.up) == [true])
        #expect(events.lines(.warning) == [])
        let dir = tree.path("iio:device0")
        #expect(failing.paths == [dir + "/name", dir + "/in_temp_input", dir + "/in_temp_input", dir + "/in_humidityrelative_input"])
    }

    @Test func aTimeoutOnEveryTryLosesTheReadingOnceWarnedThenRecovers() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        Self.device(tree, "iio:device0")
        let failing = FailingReader()
        failing.failAlways("/in_temp_input", with: ETIMEDOUT)
        let events = SysfsEvents()
        let source = DHTIIOSource(unvalidated: Self.config(tree), log: events.logger, retryDelay: 5_000_000, readFile: failing.reader)
        let sink = events.sink
        let dir = tree.path("iio:device0")
        let reason = "\(dir)/in_temp_input: Connection timed out"

        #expect(!Self.cycle(source, sink))
        #expect(!Self.cycle(source, sink))
        #expect(sink.count == 0)
        var c = source.counters
        #expect(c.etimedout == 6 && c.retries == 4 && c.lost == 2 && c.reads == 0 && c.isUp == false)
        #expect(events.changes == [.init(up: false, device: dir, reason: reason)])
        #expect(events.lines(.warning) == ["dht_iio dht: no reading after 2 retries: \(reason); readings are dropped until it recovers (further failures are only counted)"])

        failing.heal()
        #expect(Self.cycle(source, sink))
        #expect(sink.readings.map(\.value) == [23.1, 45.2])
        c = source.counters
        #expect(c.reads == 1 && c.lost == 2 && c.isUp == true)
        #expect(events.changes == [.init(up: false, device: dir, reason: reason), .init(up: true, device: dir, reason: "reading \(dir)")])
        #expect(events.lines(.info).last == "dht_iio dht: reading \(dir) again after 2 lost reading(s)")
        #expect(events.lines(.warning).count == 1)
        #expect(sink.lastCounters == SourceCounters(source: "dht", counts: [
            .init("reads", 1), .init("eio", 0), .init("etimedout", 6), .init("other_errors", 0), .init("garbage", 0),
            .init("missing", 0), .init("retries", 4), .init("lost", 2),
        ]))
    }

    @Test func retriesNeverReachTheNextScheduledRead() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        Self.device(tree, "iio:device0")
        let failing = FailingReader()
        failing.failAlways("/in_temp_input", with: EIO)
        let source = DHTIIOSource(unvalidated: Self.config(tree, retries: 5), retryDelay: 200_000_000, readFile: failing.reader)
        let sink = CollectingSink()
        // A retry 200 ms after the first failure is before the deadline, a second one would not be.
        #expect(!Self.cycle(source, sink, deadline: Clock.monotonicNanos() + 300_000_000))
        let c = source.counters
        #expect(c.eio == 2 && c.retries == 1 && c.lost == 1)

        let none = DHTIIOSource(unvalidated: Self.config(tree, retries: 0), retryDelay: 1_000_000, readFile: failing.reader)
        #expect(!Self.cycle(none, sink))
        #expect(none.counters.eio == 1 && none.counters.retries == 0 && none.counters.lost == 1)
    }

    @Test(arguments: [(EINVAL, "Invalid argument"), (EAGAIN, "Resource temporarily unavailable"), (EIO, "Input/output error")])
    func errnosAreCountedByKind(_ code: Int32, _ words: String) throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        Self.device(tree, "iio:device0")
        let failing = FailingReader()
        failing.failAlways("/in_humidityrelative_input", with: code)
        let events = SysfsEvents()
        let source = DHTIIOSource(unvalidated: Self.config(tree, retries: 1), retryDelay: 1_000_000, readFile: failing.reader)
        let sink = events.sink
        #expect(!Self.cycle(source, sink))
        #expect(sink.count == 0)   // the temperature alone is not delivered
        let c = source.counters
        #expect(c.eio == (code == EIO ? 2 : 0) && c.otherErrors == (code == EIO ? 0 : 2) && c.lost == 1 && c.retries == 1)
        #expect(events.changes.map(\.reason) == ["\(tree.path("iio:device0"))/in_humidityrelative_input: \(words)"])
    }

    @Test func aDirectoryInPlaceOfTheFileIsARealReadError() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        tree.write("iio:device0/name", "dht11\n")
        tree.mkdir("iio:device0/in_temp_input")
        let events = SysfsEvents()
        let source = DHTIIOSource(unvalidated: Self.config(tree, retries: 1), retryDelay: 1_000_000)
        #expect(!Self.cycle(source, events.sink))
        let c = source.counters
        #expect(c.otherErrors == 2 && c.retries == 1 && c.lost == 1 && c.eio == 0 && c.missing == 0)
        #expect(events.changes.map(\.reason) == ["\(tree.path("iio:device0"))/in_temp_input: Is a directory"])
    }

    @Test func contentThatIsNoNumberIsGarbage() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        Self.device(tree, "iio:device0", temperature: "23.1\n")
        Self.device(tree, "iio:device1", name: "dht11@17", humidity: "")
        let events = SysfsEvents()
        let a = DHTIIOSource(unvalidated: Self.config(tree, path: tree.path("iio:device0"), retries: 0), log: events.logger)
        #expect(!Self.cycle(a, events.sink))
        #expect(a.counters.garbage == 1 && a.counters.lost == 1)
        let b = DHTIIOSource(unvalidated: Self.config(tree, deviceName: "dht11@17", retries: 0), log: events.logger)
        #expect(!Self.cycle(b, events.sink))
        #expect(b.counters.garbage == 1)
        #expect(events.changes.map(\.reason) == [
            "\(tree.path("iio:device0"))/in_temp_input: not a whole number of milli-units: '23.1'",
            "\(tree.path("iio:device1"))/in_humidityrelative_input: not a whole number of milli-units: ''",
        ])
    }

    @Test func aMissingDeviceIsDownWithoutRetriesUntilItAppears() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        Self.device(tree, "iio:device3", name: "ads1015")
        let events = SysfsEvents()
        let source = DHTIIOSource(unvalidated: Self.config(tree), log: events.logger, retryDelay: 1_000_000)
        let sink = events.sink
        #expect(!Self.cycle(source, sink))
        var c = source.counters
        #expect(c.missing == 1 && c.retries == 0 && c.lost == 1 && c.device == nil)
        let lookFor = "iio device 'dht11' under \(tree.root)"
        #expect(events.changes == [.init(up: false, device: lookFor, reason: "no iio device named 'dht11' under \(tree.root) (found: iio:device3 ads1015)")])

        Self.device(tree, "iio:device10", name: "dht11@4")
        #expect(Self.cycle(source, sink))
        c = source.counters
        #expect(c.reads == 1 && c.device == tree.path("iio:device10"))
        #expect(events.changes.map(\.up) == [false, true])
        #expect(events.changes.last?.reason == "reading \(tree.path("iio:device10"))")
    }

    @Test func aConfiguredPathThatIsNotThereIsMissing() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        let events = SysfsEvents()
        let path = tree.path("iio:device0")
        let source = DHTIIOSource(unvalidated: Self.config(tree, path: path), retryDelay: 1_000_000)
        #expect(!Self.cycle(source, events.sink))
        #expect(source.counters.missing == 1 && source.counters.retries == 0)
        #expect(events.changes == [.init(up: false, device: path, reason: "\(path)/in_temp_input: No such file or directory")])
    }

    @Test func aRenumberedDeviceIsFoundAgain() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        Self.device(tree, "iio:device0")
        let events = SysfsEvents()
        let source = DHTIIOSource(unvalidated: Self.config(tree), log: events.logger, retryDelay: 1_000_000)
        let sink = events.sink
        #expect(Self.cycle(source, sink))
        tree.delete("iio:device0")
        #expect(!Self.cycle(source, sink))
        #expect(source.counters.device == nil)
        Self.device(tree, "iio:device1", temperature: "24000\n", humidity: "50000\n")
        #expect(Self.cycle(source, sink))
        let d0 = tree.path("iio:device0"), d1 = tree.path("iio:device1")
        #expect(events.changes == [
            .init(up: true, device: d0, reason: "reading \(d0)"),
            .init(up: false, device: "iio device 'dht11' under \(tree.root)", reason: "\(d0)/in_temp_input: No such file or directory"),
            .init(up: true, device: d1, reason: "reading \(d1)"),
        ])
        #expect(sink.readings.map(\.value) == [23.1, 45.2, 24, 50])
        #expect(source.counters.missing == 1 && source.counters.lost == 1 && source.counters.reads == 2)
    }

    @Test func twoDevicesOfThatNameAreAmbiguousUntilTheFullNameIsGiven() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        Self.device(tree, "iio:device0", name: "dht11@4")
        Self.device(tree, "iio:device1", name: "dht11@17", temperature: "19000\n")
        let events = SysfsEvents()
        let vague = DHTIIOSource(unvalidated: Self.config(tree))
        #expect(!Self.cycle(vague, events.sink))
        #expect(vague.counters.missing == 1)
        #expect(events.changes.map(\.reason) == ["2 iio devices match device_name 'dht11' under \(tree.root): iio:device0 (dht11@4), iio:device1 (dht11@17); set path or the full name as device_name"])

        let exact = try DHTIIOSource(config: Self.config(tree, deviceName: "dht11@17"))
        let sink = events.sink
        #expect(Self.cycle(exact, sink))
        #expect(sink.readings.map(\.value) == [19, 45.2])
        #expect(exact.counters.device == tree.path("iio:device1"))
    }

    @Test func theRunLoopReadsAtOnceThenIdlesAndStopsPromptly() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        Self.device(tree, "iio:device0")
        let source = try DHTIIOSource(config: Self.config(tree, interval: .seconds(10)))
        let running = RunningSource(source)
        #expect(waitUntil(2) { running.sink.count == 2 })
        usleep(1_100_000)
        let stopAt = Clock.monotonicNanos()
        #expect(running.stopAndJoin(within: 1))
        #expect(Clock.monotonicNanos() - stopAt < 600_000_000)
        #expect(running.sink.count == 2)
        let idles = running.sink.idleTimes
        #expect(idles.count >= 4)
        let gaps = zip(idles, idles.dropFirst()).map { $1 - $0 }
        #expect(gaps.allSatisfy { $0 <= 400_000_000 }, "idle gaps \(gaps)")   // 250 ms slices, plus scheduling slack
    }

    @Test func theRunLoopKeepsItsIntervalAndReportsDownAndUp() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        Self.device(tree, "iio:device0")
        let failing = FailingReader()
        let events = SysfsEvents()
        let source = DHTIIOSource(unvalidated: Self.config(tree, interval: .milliseconds(100), retries: 1), log: events.logger,
                                  retryDelay: 30_000_000, readFile: failing.reader)
        let running = RunningSource(source)
        defer { running.stopAndJoin() }
        #expect(waitUntil(3) { running.sink.count >= 6 })
        failing.failAlways("/in_temp_input", with: EIO)
        #expect(waitUntil(3) { source.counters.lost >= 3 })
        failing.heal()
        let readsBefore = source.counters.reads
        #expect(waitUntil(3) { source.counters.reads >= readsBefore + 3 })
        #expect(running.stopAndJoin())

        let dir = tree.path("iio:device0")
        #expect(running.sink.changes == [
            .init(up: true, device: dir, reason: "reading \(dir)"),
            .init(up: false, device: dir, reason: "\(dir)/in_temp_input: Input/output error"),
            .init(up: true, device: dir, reason: "reading \(dir)"),
        ])
        #expect(events.lines(.warning).count == 1)
        // Reads start at least `retryDelay` apart and, when all goes well, `interval` apart.
        let temps = running.sink.readings.filter { $0.channel == 0 }.map(\.mono)
        let gaps = zip(temps, temps.dropFirst()).map { $1 - $0 }
        #expect(gaps.allSatisfy { $0 >= 30_000_000 }, "gaps \(gaps)")
        #expect(gaps.prefix(2).allSatisfy { $0 >= 90_000_000 && $0 <= 400_000_000 }, "gaps \(gaps)")
    }

    @Test func theConfigIsCheckedWhenTheSourceIsBuilt() {
        let tree = SysfsTree()
        defer { tree.remove() }
        #expect(throws: SourceConfigError.self) { try DHTIIOSource(config: Self.config(tree, interval: .seconds(1))) }
        do {
            _ = try DHTIIOSource(config: Self.config(tree, interval: .milliseconds(1500), retries: 6))
        } catch {
            #expect(error.issues.map(\.description) == [
                "interval: must be at least 2s (a DHT must not be read faster), got 1500ms",
                "retries: must be between 0 and 5, got 6",
            ])
        }
    }
}
