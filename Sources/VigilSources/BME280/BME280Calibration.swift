/// The BME280's trimming parameters, read once from its NVM: 26 bytes at 0x88…0xA1 and 7 at
/// 0xE1…0xE7 (datasheet table 16).
public struct BME280Calibration: Sendable, Equatable {
    public var t1: UInt16, t2: Int16, t3: Int16
    public var p1: UInt16, p2: Int16, p3: Int16, p4: Int16, p5: Int16, p6: Int16, p7: Int16, p8: Int16, p9: Int16
    public var h1: UInt8, h2: Int16, h3: UInt8, h4: Int16, h5: Int16, h6: Int8

    public static let firstBlock: (register: UInt8, count: Int) = (0x88, 26)
    public static let secondBlock: (register: UInt8, count: Int) = (0xE1, 7)

    /// From the two blocks as read. H4 and H5 share 0xE5: H4 is 0xE4 (signed) × 16 plus the low
    /// nibble of 0xE5, H5 is 0xE6 (signed) × 16 plus its high nibble.
    public init?(_ a: [UInt8], _ b: [UInt8]) {
        guard a.count == Self.firstBlock.count, b.count == Self.secondBlock.count else { return nil }
        func u16(_ i: Int) -> UInt16 { UInt16(a[i]) | UInt16(a[i + 1]) << 8 }
        func s16(_ i: Int) -> Int16 { Int16(bitPattern: u16(i)) }
        t1 = u16(0); t2 = s16(2); t3 = s16(4)
        p1 = u16(6); p2 = s16(8); p3 = s16(10); p4 = s16(12); p5 = s16(14)
        p6 = s16(16); p7 = s16(18); p8 = s16(20); p9 = s16(22)
        h1 = a[25]                                   // 0xA1; 0xA0 is not used
        h2 = Int16(bitPattern: UInt16(b[0]) | UInt16(b[1]) << 8)
        h3 = b[2]
        h4 = Int16(Int8(bitPattern: b[3])) * 16 | Int16(b[4] & 0x0F)
        h5 = Int16(Int8(bitPattern: b[5])) * 16 | Int16(b[4] >> 4)
        h6 = Int8(bitPattern: b[6])
    }
}

/// One measurement's raw ADC values, from the burst read of 0xF7…0xFE (press, temp: 20 bits
/// msb/lsb/xlsb; hum: 16 bits msb/lsb).
public struct BME280Raw: Sendable, Equatable {
    public var temperature: Int32
    public var pressure: Int32
    public var humidity: Int32

    public init(temperature: Int32, pressure: Int32, humidity: Int32) {
        self.temperature = temperature; self.pressure = pressure; self.humidity = humidity
    }

    public static let dataRegister: UInt8 = 0xF7
    public static let dataCount = 8

    public init?(_ d: [UInt8]) {
        guard d.count == Self.dataCount else { return nil }
        pressure = Int32(d[0]) << 12 | Int32(d[1]) << 4 | Int32(d[2]) >> 4
        temperature = Int32(d[3]) << 12 | Int32(d[4]) << 4 | Int32(d[5]) >> 4
        humidity = Int32(d[6]) << 8 | Int32(d[7])
    }
}

/// Compensated values in the datasheet's fixed-point units.
public struct BME280Compensated: Sendable, Equatable {
    /// 0.01 °C: 2508 is 25.08 °C.
    public var centiCelsius: Int32
    /// Pa in Q24.8: 25767233 is 25767233 / 256 = 100653.25 Pa.
    public var pressureQ24_8: UInt32
    /// %RH in Q22.10: 39190 is 39190 / 1024 = 38.27 %RH.
    public var humidityQ22_10: UInt32
    /// The fine temperature the pressure and humidity formulas use.
    public var tFine: Int32

    public var celsius: Double { Double(centiCelsius) / 100 }
    public var hectopascals: Double { Double(pressureQ24_8) / 25600 }
    public var relativeHumidity: Double { Double(humidityQ22_10) / 1024 }
}

extension BME280Calibration {
    /// The datasheet's integer compensation (Bosch BME280 datasheet BST-BME280-DS002, rev 1.6,
    /// section 4.2.3): 32-bit temperature and humidity, 64-bit pressure. Wrapping arithmetic where
    /// C's would overflow, so a corrupt calibration gives nonsense (caught by the detector's health
    /// checks) rather than a crash.
    public func compensate(_ raw: BME280Raw) -> BME280Compensated {
        let adcT = raw.temperature, adcP = Int64(raw.pressure), adcH = raw.humidity
        // Temperature.
        let t1 = Int32(self.t1), t2 = Int32(self.t2), t3 = Int32(self.t3)
        let tv1 = (((adcT >> 3) &- (t1 << 1)) &* t2) >> 11
        let d = (adcT >> 4) &- t1
        let tv2 = (((d &* d) >> 12) &* t3) >> 14
        let tFine = tv1 &+ tv2
        let centi = (tFine &* 5 &+ 128) >> 8
        // Pressure.
        var v1 = Int64(tFine) - 128000
        var v2 = v1 &* v1 &* Int64(p6)
        v2 = v2 &+ ((v1 &* Int64(p5)) << 17)
        v2 = v2 &+ (Int64(p4) << 35)
        v1 = ((v1 &* v1 &* Int64(p3)) >> 8) &+ ((v1 &* Int64(p2)) << 12)
        v1 = (((Int64(1) << 47) &+ v1) &* Int64(p1)) >> 33   // Swift's >> binds tighter than *
        var pressure: UInt32 = 0
        if v1 != 0 {
            var p = 1_048_576 - adcP
            p = ((p << 31) &- v2) &* 3125 / v1
            let v3 = (Int64(p9) &* (p >> 13) &* (p >> 13)) >> 25
            let v4 = (Int64(p8) &* p) >> 19
            p = ((p &+ v3 &+ v4) >> 8) &+ (Int64(p7) << 4)
            pressure = UInt32(truncatingIfNeeded: p)
        }
        // Humidity.
        var x = tFine &- 76800
        let a = ((adcH << 14) &- (Int32(h4) << 20) &- (Int32(h5) &* x) &+ 16384) >> 15
        let b = (((((x &* Int32(h6)) >> 10) &* (((x &* Int32(h3)) >> 11) &+ 32768)) >> 10) &+ 2_097_152) &* Int32(h2) &+ 8192
        x = a &* (b >> 14)
        x = x &- (((((x >> 15) &* (x >> 15)) >> 7) &* Int32(h1)) >> 4)
        x = min(max(x, 0), 419_430_400)
        return BME280Compensated(centiCelsius: centi, pressureQ24_8: pressure, humidityQ22_10: UInt32(x >> 12), tFine: tFine)
    }
}
