import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilSources

/// A BME280's registers as recorded from a chip: reads come from the map, writes are logged; reads
/// of `failing` fail with EIO, and status (0xF3) reads "measuring" for the first `busyPolls` polls.
final class RecordedBME280: RegisterBus, Sendable {
    private struct State {
        var registers = [UInt8](repeating: 0, count: 256)
        var writes: [[UInt8]] = []
        var reads: [UInt8] = []
        var failing: UInt8?
        var busyPolls = 0
    }
    private let state = Mutex(State())

    init(chipID: UInt8 = 0x60, data: [UInt8] = BME280Tests.data) {
        state.withLock { s in
            s.registers[0xD0] = chipID
            s.registers.replaceSubrange(0x88..<0x88 + 26, with: BME280Tests.block1)
            s.registers.replaceSubrange(0xE1..<0xE1 + 7, with: BME280Tests.block2)
            s.registers.replaceSubrange(0xF7..<0xF7 + 8, with: data)
        }
    }

    func read(_ register: UInt8, count: Int) throws(I2CError) -> [UInt8] {
        let r: [UInt8]? = state.withLock { s in
            s.reads.append(register)
            if register == s.failing { return nil }
            if register == 0xF3 && s.busyPolls > 0 { s.busyPolls -= 1; return [0x08] }
            return Array(s.registers[Int(register)..<Int(register) + count])
        }
        guard let r else { throw I2CError(bus: "/dev/i2c-1", address: 0x76, call: "read \(I2CDevice.hex(register))", reason: "Input/output error", errno: EIO) }
        return r
    }

    func write(_ register: UInt8, _ value: UInt8) throws(I2CError) { state.withLock { $0.writes.append([register, value]) } }

    func fail(_ register: UInt8?) { state.withLock { $0.failing = register } }
    func busy(for polls: Int) { state.withLock { $0.busyPolls = polls } }
    var writes: [[UInt8]] { state.withLock { $0.writes } }
    var reads: [UInt8] { state.withLock { $0.reads } }
}

@Suite struct BME280Tests {
    // The calibration holds the BMP280 datasheet's worked example (section 3.12; the BME280's
    // temperature and pressure trimming is the same) for T1…P9, and a BME280's humidity trimming.
    static let block1: [UInt8] = [
        0x70, 0x6B, 0x43, 0x67, 0x18, 0xFC,                          // T1 27504, T2 26435, T3 -1000
        0x7D, 0x8E, 0x43, 0xD6, 0xD0, 0x0B, 0x27, 0x0B, 0x8C, 0x00,  // P1 36477, P2 -10685, P3 3024, P4 2855, P5 140
        0xF9, 0xFF, 0x8C, 0x3C, 0xF8, 0xC6, 0x70, 0x17,              // P6 -7, P7 15500, P8 -14600, P9 6000
        0x00, 0x4B,                                                  // 0xA0 unused, H1 75
    ]
    static let block2: [UInt8] = [0x6A, 0x01, 0x00, 0x13, 0x29, 0x03, 0x1E]  // H2 362, H3 0, H4 313, H5 50, H6 30
    /// 0xF7…0xFE: adc_P 415148, adc_T 519888, adc_H 27000.
    static let data: [UInt8] = [0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x69, 0x78]

    static var calibration: BME280Calibration { BME280Calibration(block1, block2)! }

    @Test func theCalibrationBlocksDecode() {
        let c = Self.calibration
        let t: [Int] = [Int(c.t1), Int(c.t2), Int(c.t3)]
        let p: [Int] = [Int(c.p1), Int(c.p2), Int(c.p3), Int(c.p4), Int(c.p5), Int(c.p6), Int(c.p7), Int(c.p8), Int(c.p9)]
        let h: [Int] = [Int(c.h1), Int(c.h2), Int(c.h3), Int(c.h4), Int(c.h5), Int(c.h6)]
        #expect(t == [27504, 26435, -1000])
        #expect(p == [36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000])
        #expect(h == [75, 362, 0, 313, 50, 30])
        #expect(BME280Calibration(Array(Self.block1.dropLast()), Self.block2) == nil)
    }

    /// H4 = 0xE4 (signed) × 16 | low nibble of 0xE5; H5 = 0xE6 (signed) × 16 | high nibble of 0xE5.
    @Test func h4AndH5ShareOneRegisterByNibbles() {
        // 0xE4 0x13, 0xE5 0x29, 0xE6 0x03: H4 = 0x130 | 0x9 = 313, H5 = 0x30 | 0x2 = 50.
        #expect(Self.calibration.h4 == 313 && Self.calibration.h5 == 50)
        // Negative: 0xE4 0xF3 (-13), 0xE5 0xA9, 0xE6 0xFE (-2): H4 = -208 | 0x9 = -199, H5 = -32 | 0xA = -22.
        let c = BME280Calibration(Self.block1, [0x6A, 0x01, 0x00, 0xF3, 0xA9, 0xFE, 0x1E])!
        #expect(c.h4 == -199 && c.h5 == -22)
    }

    @Test func theBurstReadGivesTheRawValues() {
        #expect(BME280Raw(Self.data) == BME280Raw(temperature: 519888, pressure: 415148, humidity: 27000))
        #expect(BME280Raw([0x49, 0x3E, 0x00, 0x65, 0x5A, 0xC0, 0x4E, 0x20]) == BME280Raw(temperature: 415148, pressure: 300000, humidity: 20000))
    }

    // The expected values were computed independently by a Python one-off of the datasheet's integer
    // formulas (BST-BME280-DS002 rev 1.6, section 4.2.3; C's truncating division, int32/int64 ranges
    // asserted), not by this code: t_fine 128422, T 2508, P 25767233, H 39190 for the first vector.
    // T and t_fine also match the BMP280 datasheet's worked example (25.08 °C, t_fine 128422), and
    // P / 256 = 100653.25 Pa its double-precision 100653.27 Pa.
    @Test func compensationGivesTheDatasheetValues() {
        let c = Self.calibration
        let a = c.compensate(BME280Raw(temperature: 519888, pressure: 415148, humidity: 27000))
        #expect(a == BME280Compensated(centiCelsius: 2508, pressureQ24_8: 25767233, humidityQ22_10: 39190, tFine: 128422))
        #expect(a.celsius == 25.08)
        #expect(a.hectopascals == 1006.5325390625)
        #expect(a.relativeHumidity == 38.271484375)
        #expect(abs(Double(a.pressureQ24_8) / 256 - 100653.27) < 0.05)
        // Below freezing (negative shifts all the way through).
        let b = c.compensate(BME280Raw(temperature: 415148, pressure: 300000, humidity: 20000))
        #expect(b == BME280Compensated(centiCelsius: -786, pressureQ24_8: 29313665, humidityQ22_10: 1747, tFine: -40245))
        #expect(b.celsius == -7.86 && b.hectopascals == 1145.0650390625 && b.relativeHumidity == 1.7060546875)
    }

    /// ctrl_hum before ctrl_meas (forced mode), status bit 3 polled until clear, then one burst read.
    @Test func aForcedMeasurementFollowsTheDatasheetOrder() throws {
        let bus = RecordedBME280()
        let chip = try BME280Chip(bus: bus, name: "/dev/i2c-1", address: 0x76)
        #expect(chip.calibration == Self.calibration)
        #expect(bus.reads == [0xD0, 0x88, 0xE1])
        bus.busy(for: 2)
        let raw = try chip.measure(BME280Oversampling(temperature: 2, pressure: 16, humidity: 4), name: "/dev/i2c-1", address: 0x76)
        #expect(raw == BME280Raw(temperature: 519888, pressure: 415148, humidity: 27000))
        // osrs_h x4 = 3; ctrl_meas: osrs_t x2 = 2 << 5, osrs_p x16 = 5 << 2, mode forced = 01.
        #expect(bus.writes == [[0xF2, 0x03], [0xF4, 0x55]])
        #expect(bus.reads.dropFirst(3) == [0xF3, 0xF3, 0xF3, 0xF7])
    }

    @Test func aChipThatIsNotABME280IsNamed() throws {
        #expect(throws: I2CError(bus: "/dev/i2c-1", address: 0x76, call: "chip id",
                                 reason: "read 0x58 at 0xD0, expected 0x60 for a BME280 (a BMP280: no humidity)")) {
            try BME280Chip(bus: RecordedBME280(chipID: 0x58), name: "/dev/i2c-1", address: 0x76)
        }
        let source = BME280Source(unvalidated: BME280SourceConfig(name: "air", interval: .milliseconds(20))) { () throws(I2CError) in
            RecordedBME280(chipID: 0x58)
        }
        let running = RunningSource(source)
        #expect(waitUntil(3) { !running.sink.changes.isEmpty })
        #expect(running.stopAndJoin())
        #expect(running.sink.changes.first == .init(up: false, device: "/dev/i2c-1 address 0x76",
            reason: "/dev/i2c-1 address 0x76: chip id: read 0x58 at 0xD0, expected 0x60 for a BME280 (a BMP280: no humidity)"))
        #expect(running.sink.count == 0)
    }

    /// A bus read that fails: source_down carrying the counters of that moment, then source_up
    /// once the bus answers again; readings are the compensated values.
    @Test func aFailingBusReadIsDownThenUp() throws {
        let bus = RecordedBME280()
        let source = BME280Source(unvalidated: BME280SourceConfig(name: "air", interval: .milliseconds(20),
                                                                  channels: BME280ChannelNames(temperature: "t", humidity: "h", pressure: "p"))) { () throws(I2CError) in bus }
        #expect(source.channels == [ChannelInfo(name: "t", unit: "°C"), ChannelInfo(name: "h", unit: "%RH"), ChannelInfo(name: "p", unit: "hPa")])
        let running = RunningSource(source)
        defer { running.stopAndJoin() }
        #expect(waitUntil(3) { source.counters.reads >= 2 })
        bus.fail(0xF7)
        #expect(waitUntil(3) { running.sink.changes.count == 2 })
        let readsWhenDown = source.counters.reads
        bus.fail(nil)
        #expect(waitUntil(3) { running.sink.changes.count == 3 })
        #expect(running.stopAndJoin())

        let device = "/dev/i2c-1 address 0x76"
        #expect(running.sink.changes == [
            .init(up: true, device: device, reason: "reading \(device)"),
            .init(up: false, device: device, reason: "\(device): read 0xF7: Input/output error"),
            .init(up: true, device: device, reason: "reading \(device)"),
        ])
        let atDown = try #require(running.sink.countersAtChanges[1])
        #expect(atDown == SourceCounters(source: "air", counts: [.init("reads", readsWhenDown), .init("errors", 1)]))
        #expect(running.sink.readings.prefix(3).map(\.value) == [25.08, 38.271484375, 1006.5325390625])
        #expect(running.sink.readings.prefix(3).map(\.channel) == [0, 1, 2])
        #expect(Set(running.sink.readings.prefix(3).map(\.wall)).count == 1)
        #expect(source.counters.errors >= 1)
    }

    @Test func theConfigIsCheckedWhenTheSourceIsBuilt() {
        let bad = BME280SourceConfig(bus: "i2c-1", address: 0x50, interval: .milliseconds(100),
                                     oversampling: BME280Oversampling(humidity: 3))
        #expect(throws: SourceConfigError.self) { try BME280Source(config: bad) }
        #expect(bad.validate().map(\.description) == [
            "bus: must be the bus's device path, such as /dev/i2c-1, got 'i2c-1'",
            "address: must be 0x76 (SDO to GND) or 0x77 (SDO to VDDIO), got 0x50",
            "interval: must be at least 1s, got 100ms",
            "oversampling.humidity: must be 1, 2, 4, 8 or 16, got 3",
        ])
        #expect(BME280SourceConfig().validate().isEmpty)
    }
}
