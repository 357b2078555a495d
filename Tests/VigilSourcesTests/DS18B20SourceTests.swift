import Foundation
import Testing
import VigilCore
@testable import VigilSources

/// w1_slave contents as the w1_therm driver prints them (literal, CRCs checked in crcVectors).
enum W1 {
    static let good = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"
    /// -10.125 °C
    static let negative = "5e ff 4b 46 7f ff 02 10 b6 : crc=b6 YES\n5e ff 4b 46 7f ff 02 10 b6 t=-10125\n"
    /// -0.0625 °C: the driver's t= truncates toward zero (-62.5 → -62).
    static let justBelowZero = "ff ff 4b 46 7f ff 01 10 9a : crc=9a YES\nff ff 4b 46 7f ff 01 10 9a t=-62\n"
    /// 0x0173 at 9 bits (config 1f): bits 0–2 undefined → 0x0170 = 23.0 °C; t= from all bits.
    static let nineBit = "73 01 4b 46 1f ff 0d 10 d1 : crc=d1 YES\n73 01 4b 46 1f ff 0d 10 d1 t=23187\n"
    /// 0x0176 at 10 bits (3f) → 0x0174 = 23.25 °C.
    static let tenBit = "76 01 4b 46 3f ff 0a 10 99 : crc=99 YES\n76 01 4b 46 3f ff 0a 10 99 t=23375\n"
    /// 0x0176 at 11 bits (5f) → 0x0176 = 23.375 °C.
    static let elevenBit = "76 01 4b 46 5f ff 0a 10 09 : crc=09 YES\n76 01 4b 46 5f ff 0a 10 09 t=23375\n"
    /// The driver's verdict NO (line 2 repeats the last good scratchpad).
    static let crcNo = "72 01 4b 46 7f ff 0e 10 58 : crc=57 NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"
    /// Byte 8 wrong, yet the driver (or whatever wrote this) says YES.
    static let crcWrongButYes = "72 01 4b 46 7f ff 0e 10 58 : crc=58 YES\n72 01 4b 46 7f ff 0e 10 58 t=23125\n"
    /// A data byte flipped after the CRC was taken.
    static let crcDataFlipped = "73 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n73 01 4b 46 7f ff 0e 10 57 t=23187\n"
    /// The power-on value: 85 °C, the conversion never ran.
    static let reset = "50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n50 05 4b 46 7f ff 0c 10 1c t=85000\n"
    /// A disconnected sensor: all zeros pass the CRC.
    static let zeros = "00 00 00 00 00 00 00 00 00 : crc=00 YES\n00 00 00 00 00 00 00 00 00 t=0\n"
    static let ones = "ff ff ff ff ff ff ff ff ff : crc=c9 NO\n72 01 4b 46 7f ff 0e 10 57 t=-62\n"
    static let tDisagrees = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23000\n"
    static let twentyOneAndAHalf = "58 01 4b 46 7f ff 08 10 f9 : crc=f9 YES\n58 01 4b 46 7f ff 08 10 f9 t=21500\n"
}

@Suite struct W1SlaveParserTests {
    func parse(_ s: String) -> W1Reading { W1SlaveParser.parse(Array(s.utf8)) }

    @Test func crcVectors() {
        // Maxim application note 27's ROM example: family 02, serial 00 00 00 01 B8 1C, CRC A2.
        #expect(W1SlaveParser.crc8([0x02, 0x1C, 0xB8, 0x01, 0x00, 0x00, 0x00]) == 0xA2)
        #expect(W1SlaveParser.crc8([0x72, 0x01, 0x4B, 0x46, 0x7F, 0xFF, 0x0E, 0x10]) == 0x57)
        #expect(W1SlaveParser.crc8([UInt8](repeating: 0, count: 8)) == 0x00)
        #expect(W1SlaveParser.crc8([UInt8](repeating: 0xFF, count: 8)) == 0xC9)
        // A message followed by its CRC checks to zero.
        #expect(W1SlaveParser.crc8([0x5E, 0xFF, 0x4B, 0x46, 0x7F, 0xFF, 0x02, 0x10, 0xB6]) == 0)
    }

    @Test func goodReadings() {
        #expect(parse(W1.good) == .celsius(23.125))
        #expect(parse(W1.negative) == .celsius(-10.125))
        #expect(parse(W1.justBelowZero) == .celsius(-0.0625))
        #expect(parse(W1.twentyOneAndAHalf) == .celsius(21.5))
        // No trailing newline, CRLF line ends, upper-case hex.
        #expect(parse(String(W1.good.dropLast())) == .celsius(23.125))
        #expect(parse(W1.good.replacing("\n", with: "\r\n")) == .celsius(23.125))
        #expect(parse(W1.good.uppercased().replacing("CRC=", with: "crc=").replacing("T=", with: "t=")) == .celsius(23.125))
    }

    @Test func lowerResolutionsClearTheUndefinedBits() {
        #expect(parse(W1.nineBit) == .celsius(23.0))
        #expect(parse(W1.tenBit) == .celsius(23.25))
        #expect(parse(W1.elevenBit) == .celsius(23.375))
        #expect(W1SlaveParser.resolutionBits(config: 0x1F) == 9)
        #expect(W1SlaveParser.resolutionBits(config: 0x7F) == 12)
        #expect(W1SlaveParser.celsius(lsb: 0xFF, msb: 0xFF, config: 0x1F) == -0.5)   // -1/16 floors to -8/16 at 9 bits
        #expect(W1SlaveParser.celsius(lsb: 0xD0, msb: 0x07, config: 0x7F) == 125)
        #expect(W1SlaveParser.celsius(lsb: 0x90, msb: 0xFC, config: 0x7F) == -55)
        #expect(W1SlaveParser.driverMilliCelsius(lsb: 0xFF, msb: 0xFF) == -62)
        #expect(W1SlaveParser.driverMilliCelsius(lsb: 0x01, msb: 0x00) == 62)
    }

    @Test func crcFailures() {
        #expect(parse(W1.crcNo) == .crc("the driver's CRC check failed (crc=57 NO)"))
        #expect(parse(W1.crcWrongButYes) == .crc("CRC mismatch: computed 57, scratchpad byte 8 is 58, driver says crc=58 YES"))
        #expect(parse(W1.crcDataFlipped) == .crc("CRC mismatch: computed 14, scratchpad byte 8 is 57, driver says crc=57 YES"))
    }

    @Test func resetAndNoSensor() {
        #expect(parse(W1.reset) == .reset)
        #expect(parse(W1.zeros) == .noSensor)
        #expect(parse(W1.ones) == .noSensor)
        #expect(W1Reading.reset.counterName == "reset" && W1Reading.noSensor.counterName == "no_sensor")
    }

    @Test func garbageAndEmpty() {
        #expect(parse("") == .empty)
        #expect(parse("\n") == .empty)
        #expect(parse(W1.tDisagrees) == .garbage("t=23000 but the scratchpad gives 23125"))
        #expect(parse("hello") == .garbage("expected 2 lines, got 1"))
        #expect(parse("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n") == .garbage("expected 2 lines, got 1"))
        #expect(parse("72 01 4b 46 7f ff 0e 10 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n")
                == .garbage("line 1 is not 9 hex bytes, ':', crc=XX and YES or NO"))
        #expect(parse("72 01 4b 46 7f ff 0e 10 zz : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n")
                == .garbage("line 1 is not 9 hex bytes, ':', crc=XX and YES or NO"))
        #expect(parse("72 01 4b 46 7f ff 0e 10 57 : crc=57 MAYBE\n72 01 4b 46 7f ff 0e 10 57 t=23125\n")
                == .garbage("line 1 ends in 'MAYBE', not YES or NO"))
        #expect(parse("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23.125\n")
                == .garbage("line 2 is not 9 hex bytes and t=<m°C>"))
        #expect(parse("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57\n")
                == .garbage("line 2 is not 9 hex bytes and t=<m°C>"))
        #expect(W1SlaveParser.parse([0x00, 0xFF, 0x0A, 0x80]) == .garbage("line 1 is not 9 hex bytes, ':', crc=XX and YES or NO"))
    }

    @Test func thePlainTemperatureFile() {
        func plain(_ s: String) -> W1Reading { W1SlaveParser.parseTemperature(Array(s.utf8)) }
        #expect(plain("23125\n") == .celsius(23.125))
        #expect(plain("-10125\n") == .celsius(-10.125))
        #expect(plain("85000\n") == .reset)
        #expect(plain("") == .empty)
        #expect(plain("x\n") == .garbage("not a number of m°C"))
        // Past the 16-bit register (1/16 °C steps): refused, not passed on as a reading.
        #expect(plain("2047937\n") == .celsius(2047.937))
        #expect(plain("-2048000\n") == .celsius(-2048))
        #expect(plain("999999999999999999\n") == .garbage("999999999999999999 m°C is outside a DS18B20's ±2048 °C register"))
        #expect(plain("-2048001\n") == .garbage("-2048001 m°C is outside a DS18B20's ±2048 °C register"))
    }
}

@Suite struct DS18B20SourceTests {
    static func config(_ tree: SysfsTree, _ sensors: [DS18B20SensorConfig]?, interval: ConfigDuration = .seconds(10)) -> DS18B20SourceConfig {
        DS18B20SourceConfig(name: "tanks", sensors: sensors, root: tree.root, interval: interval)
    }

    /// `28-` and a 12-digit serial ending in `n`.
    static func id(_ n: Int) -> String { "28-" + String(format: "%012x", 0x75f4e00 + n) }

    @Test func everyKindOfContentIsDeliveredOrCountedExactly() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        let contents: [(String, String?)] = [
            ("good", W1.good), ("negative", W1.negative), ("nine_bit", W1.nineBit), ("crc_no", W1.crcNo),
            ("crc_yes", W1.crcWrongButYes), ("reset", W1.reset), ("zeros", W1.zeros), ("garbage", "garbage\n"),
            ("empty", ""), ("missing", nil), ("plain", nil), ("is_dir", nil),
        ]
        var sensors: [DS18B20SensorConfig] = []
        for (i, (channel, content)) in contents.enumerated() {
            let id = Self.id(i)
            sensors.append(DS18B20SensorConfig(id: id, channel: channel))
            if let content { tree.write("\(id)/w1_slave", content) } else { tree.mkdir(id) }
        }
        tree.write("\(Self.id(10))/temperature", "21500\n")      // no w1_slave: the plain file
        tree.mkdir("\(Self.id(11))/w1_slave")                    // a directory: read(2) fails with EISDIR
        let events = SysfsEvents()
        let source = try DS18B20Source(config: Self.config(tree, sensors), log: events.logger)
        #expect(source.channels.map(\.name) == contents.map(\.0))
        #expect(source.channels.allSatisfy { $0.unit == "°C" })
        #expect(source.portDescription == tree.root)

        let sink = events.sink
        source.readAll(sink, StopSignal())
        #expect(sink.values == [[0, 23.125], [1, -10.125], [2, 23.0], [10, 21.5]])
        var want = DS18B20Counters()
        want.reads = 4
        want.crc = 2
        want.reset = 1
        want.noSensor = 1
        want.garbage = 1
        want.empty = 1
        want.missing = 1
        want.otherErrors = 1
        #expect(source.counters == want)
        #expect(sink.idleTimes.count == contents.count)

        func dir(_ i: Int) -> String { tree.path(Self.id(i)) }
        func slave(_ i: Int) -> String { dir(i) + "/w1_slave" }
        #expect(events.changes == [
            .init(up: true, device: dir(0), reason: "reading \(slave(0))"),
            .init(up: true, device: dir(1), reason: "reading \(slave(1))"),
            .init(up: true, device: dir(2), reason: "reading \(slave(2))"),
            .init(up: false, device: dir(3), reason: "\(slave(3)): the driver's CRC check failed (crc=57 NO)"),
            .init(up: false, device: dir(4), reason: "\(slave(4)): CRC mismatch: computed 57, scratchpad byte 8 is 58, driver says crc=58 YES"),
            .init(up: false, device: dir(5), reason: "\(slave(5)): 85 °C power-on value (scratchpad 50 05): the conversion did not run — check power and the pull-up"),
            .init(up: false, device: dir(6), reason: "\(slave(6)): all-zero or all-ones scratchpad: no sensor answered"),
            .init(up: false, device: dir(7), reason: "\(slave(7)): expected 2 lines, got 1"),
            .init(up: false, device: dir(8), reason: "\(slave(8)): empty read: the driver's read failed (no presence pulse or repeated CRC errors)"),
            .init(up: false, device: dir(9), reason: "\(slave(9)): No such file or directory"),
            .init(up: true, device: dir(10), reason: "reading \(dir(10))/temperature"),
            .init(up: false, device: dir(11), reason: "\(slave(11)): Is a directory"),
        ])
        #expect(events.lines(.warning).count == 8)
        #expect(events.lines(.warning).first == "ds18b20 tanks: \(Self.id(3)) (crc_no) no reading: \(slave(3)): the driver's CRC check failed (crc=57 NO); its readings are dropped until it recovers (further failures are only counted)")

        // A second round: the same counts again, but no new transitions or warnings.
        source.readAll(sink, StopSignal())
        #expect(source.counters.reads == 8 && source.counters.crc == 4 && source.counters.missing == 2)
        #expect(events.changes.count == 12)
        #expect(events.lines(.warning).count == 8)
        #expect(source.sensors.map(\.failuresInStreak) == [0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 0, 2])
        #expect(sink.lastCounters == SourceCounters(source: "tanks", counts: [
            .init("reads", 8), .init("crc", 4), .init("reset", 2), .init("no_sensor", 2), .init("empty", 2),
            .init("garbage", 2), .init("missing", 2), .init("eio", 0), .init("etimedout", 0), .init("other_errors", 2),
        ]))
    }

    @Test func aSensorThatRecoversReportsUpAndLogsAtInfo() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        let id = Self.id(1)
        tree.write("\(id)/w1_slave", W1.reset)
        let events = SysfsEvents()
        let source = try DS18B20Source(config: Self.config(tree, [DS18B20SensorConfig(id: id, channel: "tank")]), log: events.logger)
        let sink = events.sink
        source.readAll(sink, StopSignal())
        source.readAll(sink, StopSignal())
        tree.write("\(id)/w1_slave", W1.good)
        source.readAll(sink, StopSignal())
        #expect(sink.values == [[0, 23.125]])
        #expect(events.changes.map(\.up) == [false, true])
        #expect(events.lines(.info) == ["ds18b20 tanks: \(id) (tank) reading again after 2 failed read(s)"])
        #expect(source.counters.reset == 2 && source.counters.reads == 1)
    }

    @Test(arguments: [(EIO, "eio", "Input/output error"), (ETIMEDOUT, "etimedout", "Connection timed out"),
                      (EAGAIN, "other_errors", "Resource temporarily unavailable"), (ENODEV, "missing", "No such device")])
    func readErrnosAreClassified(_ code: Int32, _ counter: String, _ words: String) throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        tree.write("\(Self.id(1))/w1_slave", W1.good)
        tree.write("\(Self.id(2))/w1_slave", W1.negative)
        let failing = FailingReader()
        failing.failAlways("\(Self.id(1))/w1_slave", with: code)
        let events = SysfsEvents()
        let source = try DS18B20Source(unvalidated: Self.config(tree, nil), readFile: failing.reader)
        let sink = events.sink
        source.readAll(sink, StopSignal())
        #expect(sink.values == [[1, -10.125]])
        #expect(sink.lastCounters?[counter] == 1)
        #expect(source.counters.reads == 1)
        #expect(events.changes.first == .init(up: false, device: tree.path(Self.id(1)), reason: "\(tree.path(Self.id(1)))/w1_slave: \(words)"))
    }

    @Test func withoutSensorsEveryDS18B20FoundIsReadOnItsOwnChannel() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        tree.write("28-00000a1b2c3d/w1_slave", W1.negative)
        tree.write("28-0000075f4e21/w1_slave", W1.good)
        tree.mkdir("w1_bus_master1")
        tree.mkdir("10-000802b4e0a1")    // a DS18S20: another family
        tree.mkdir("00-400000000000")
        let source = try DS18B20Source(config: Self.config(tree, nil))
        #expect(source.channels.map(\.name) == ["ds18b20_0000075f4e21", "ds18b20_00000a1b2c3d"])
        let sink = CollectingSink()
        source.readAll(sink, StopSignal())
        #expect(sink.values == [[0, 23.125], [1, -10.125]])
    }

    @Test func withoutSensorsAndNoneFoundTheSourceCannotBeBuilt() {
        let tree = SysfsTree()
        defer { tree.remove() }
        tree.mkdir("w1_bus_master1")
        func issues(_ c: DS18B20SourceConfig) -> [String] {
            do { _ = try DS18B20Source(config: c); return [] } catch { return error.issues.map(\.description) }
        }
        #expect(issues(Self.config(tree, nil)) == [
            "sensors: none listed, and no DS18B20 (28-*) is under \(tree.root) (is dtoverlay=w1-gpio set and a sensor wired?)",
        ])
        var gone = Self.config(tree, nil)
        gone.root = tree.path("nothing")
        #expect(issues(gone) == [
            "sensors: none listed, and \(tree.path("nothing")) cannot be listed to find them: No such file or directory (is dtoverlay=w1-gpio set?)",
        ])
        #expect(issues(Self.config(tree, [DS18B20SensorConfig(id: "28-0000075F4E21")], interval: .milliseconds(500))) == [
            "interval: must be at least 1s (a 12-bit conversion takes 750ms), got 500ms",
            "sensors[0].id: must be a DS18B20 id like 28-0000075f4e21 (28- and 12 lower-case hex digits, the directory name under \(tree.root)), got '28-0000075F4E21'",
        ])
        // Listed sensors need not exist yet: nothing is read when the source is built.
        #expect(issues(Self.config(tree, [DS18B20SensorConfig(id: "28-0000075f4e21")])) == [])
    }

    @Test func aSensorWhoseFolderDisappearsGoesDownAndComesBackWhileTheOtherGoesOn() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        let a = Self.id(1), b = Self.id(2)
        tree.write("\(a)/w1_slave", W1.good)
        tree.write("\(b)/w1_slave", W1.negative)
        let events = SysfsEvents()
        let source = try DS18B20Source(unvalidated: Self.config(tree, [DS18B20SensorConfig(id: a, channel: "top"),
                                                                          DS18B20SensorConfig(id: b, channel: "bottom")],
                                                                  interval: .milliseconds(50)), log: events.logger)
        let running = RunningSource(source)
        defer { running.stopAndJoin() }
        #expect(waitUntil(3) { running.sink.values(channel: 0).count >= 2 })
        tree.delete(a)
        #expect(waitUntil(3) { source.counters.missing >= 3 })
        let bottomWhileDown = running.sink.values(channel: 1).count
        #expect(waitUntil(3) { running.sink.values(channel: 1).count >= bottomWhileDown + 2 })
        let topWhileDown = running.sink.values(channel: 0).count
        tree.write("\(a)/w1_slave", W1.twentyOneAndAHalf)
        #expect(waitUntil(3) { running.sink.values(channel: 0).count >= topWhileDown + 2 })
        #expect(running.stopAndJoin())

        let da = tree.path(a), db = tree.path(b)
        #expect(running.sink.changes == [
            .init(up: true, device: da, reason: "reading \(da)/w1_slave"),
            .init(up: true, device: db, reason: "reading \(db)/w1_slave"),
            .init(up: false, device: da, reason: "\(da)/w1_slave: No such file or directory"),
            .init(up: true, device: da, reason: "reading \(da)/w1_slave"),
        ])
        #expect(Set(running.sink.values(channel: 0)) == [23.125, 21.5])
        #expect(Set(running.sink.values(channel: 1)) == [-10.125])
        #expect(events.lines(.warning) == ["ds18b20 tanks: \(a) (top) no reading: \(da)/w1_slave: No such file or directory; its readings are dropped until it recovers (further failures are only counted)"])
        #expect(events.lines(.info).last?.hasPrefix("ds18b20 tanks: \(a) (top) reading again after ") == true)
        let c = source.counters
        #expect(c.reads == running.sink.count && c.crc == 0 && c.garbage == 0 && c.otherErrors == 0)
    }

    @Test func theRunLoopIdlesBetweenRoundsAndStopsPromptly() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        tree.write("\(Self.id(1))/w1_slave", W1.good)
        let source = try DS18B20Source(config: Self.config(tree, nil, interval: .seconds(5)))
        let running = RunningSource(source)
        #expect(waitUntil(2) { running.sink.count == 1 })
        usleep(1_100_000)
        let stopAt = Clock.monotonicNanos()
        #expect(running.stopAndJoin(within: 1))
        #expect(Clock.monotonicNanos() - stopAt < 600_000_000)
        #expect(running.sink.count == 1)
        let idles = running.sink.idleTimes
        let gaps = zip(idles, idles.dropFirst()).map { $1 - $0 }
        #expect(idles.count >= 4)
        #expect(gaps.allSatisfy { $0 <= 400_000_000 }, "idle gaps \(gaps)")   // 250 ms slices, plus scheduling slack
    }
}
