/// The ADS1015 (12-bit) and ADS1115 (16-bit) I²C ADCs: their register map and the config word,
/// after TI's datasheets (SBAS444D ADS1015, SBAS444 ADS1115 section 8.6; the two differ only in
/// resolution and data rates). Pure: no I/O.
public enum ADS1x15Chip: String, Sendable, Equatable, CaseIterable {
    case ads1015
    case ads1115

    /// Samples per second for data-rate codes 0…7 (config bits 7:5).
    public var dataRates: [Int] {
        switch self {
        case .ads1015: [128, 250, 490, 920, 1600, 2400, 3300, 3300]
        case .ads1115: [8, 16, 32, 64, 128, 250, 475, 860]
        }
    }

    /// The code of a rate the chip offers (3300 on an ADS1015 is code 6).
    public func dataRateCode(_ samplesPerSecond: Int) -> UInt16? {
        dataRates.firstIndex(of: samplesPerSecond).map { UInt16($0) }
    }

    /// The conversion register's signed value: the ADS1115's 16 bits, the ADS1015's 12 bits
    /// (left-justified: shifted down by 4, the sign kept).
    public func code(fromConversion word: UInt16) -> Int {
        let signed = Int(Int16(bitPattern: word))
        return self == .ads1115 ? signed : signed >> 4
    }

    /// Codes per full-scale range: 2¹⁵ or 2¹¹.
    public var fullScaleCode: Int { self == .ads1115 ? 32768 : 2048 }

    /// Volts for a conversion register value at `range`.
    public func volts(fromConversion word: UInt16, range: ADS1x15Range) -> Double {
        Double(code(fromConversion: word)) * range.volts / Double(fullScaleCode)
    }
}

/// Pointer register values.
public enum ADS1x15Register: UInt8, Sendable {
    case conversion = 0
    case config = 1
    case lowThreshold = 2
    case highThreshold = 3
}

/// The multiplexer (config bits 14:12): what the ADC measures.
public enum ADS1x15Input: String, Sendable, Equatable, CaseIterable {
    case ain0MinusAin1 = "ain0-ain1"
    case ain0MinusAin3 = "ain0-ain3"
    case ain1MinusAin3 = "ain1-ain3"
    case ain2MinusAin3 = "ain2-ain3"
    case ain0, ain1, ain2, ain3

    public var mux: UInt16 { UInt16(Self.allCases.firstIndex(of: self)!) }
}

/// The programmable gain amplifier's full-scale range (config bits 11:9), ± volts. The inputs must
/// still stay within the supply: ±6.144 V only says what code full scale is.
public enum ADS1x15Range: Double, Sendable, Equatable, CaseIterable {
    case fs6_144 = 6.144
    case fs4_096 = 4.096
    case fs2_048 = 2.048
    case fs1_024 = 1.024
    case fs0_512 = 0.512
    case fs0_256 = 0.256

    public var volts: Double { rawValue }
    public var pga: UInt16 { UInt16(Self.allCases.firstIndex(of: self)!) }
}

/// How the chip converts (config bit 8).
public enum ADS1x15Conversion: Sendable, Equatable {
    /// One conversion per write of the config word with OS set, then power-down.
    case singleShot
    /// Converts at the data rate without pause; the conversion register holds the latest.
    case continuous
}

/// The 16-bit config register.
public struct ADS1x15Config: Sendable, Equatable {
    public var input: ADS1x15Input
    public var range: ADS1x15Range
    public var conversion: ADS1x15Conversion
    public var dataRateCode: UInt16

    /// OS, bit 15: written 1 starts a single conversion; read 0 while a conversion runs.
    public static let startOrReady: UInt16 = 0x8000
    /// COMP_QUE 11, bits 1:0: the comparator off and ALERT/RDY high-impedance (the reset value,
    /// as are COMP_MODE, COMP_POL and COMP_LAT at 0).
    public static let comparatorOff: UInt16 = 0x0003

    public init(input: ADS1x15Input, range: ADS1x15Range, conversion: ADS1x15Conversion, dataRateCode: UInt16) {
        self.input = input; self.range = range; self.conversion = conversion; self.dataRateCode = dataRateCode & 7
    }

    /// The word to write: with OS set in single-shot mode (which starts the conversion).
    public var word: UInt16 {
        let mode: UInt16 = conversion == .singleShot ? 1 : 0
        let os: UInt16 = conversion == .singleShot ? Self.startOrReady : 0
        return os | input.mux << 12 | range.pga << 9 | mode << 8 | dataRateCode << 5 | Self.comparatorOff
    }

    /// Reads a config word back (the OS bit aside); PGA codes 6 and 7 are ±0.256 V as 5 is.
    public init(word: UInt16) {
        input = ADS1x15Input.allCases[Int(word >> 12 & 7)]
        range = ADS1x15Range.allCases[min(Int(word >> 9 & 7), ADS1x15Range.allCases.count - 1)]
        conversion = word & 0x0100 != 0 ? .singleShot : .continuous
        dataRateCode = word >> 5 & 7
    }

    /// Whether a config word read back says no conversion is running.
    public static func isReady(_ word: UInt16) -> Bool { word & startOrReady != 0 }

    /// Two bytes as the register sends them: most significant first.
    public static func word(_ bytes: [UInt8]) -> UInt16 { UInt16(bytes[0]) << 8 | UInt16(bytes[1]) }
}
