/// The text of IIO sysfs attributes, parsed without I/O.
///
/// A processed IIO channel (`in_temp_input`, `in_humidityrelative_input`) holds one integer in
/// milli-units followed by a newline — the dht11 driver prints `23100\n` for 23.1 °C and `45200\n`
/// for 45.2 %RH. `name` holds the device's name; the dht11 driver sets it to its platform device's
/// name, which on a Raspberry Pi is the device-tree node: `dht11@0` or `dht11@4` (the `gpiopin`),
/// on some kernels `4.dht11` — rarely plain `dht11`.
public enum IIOParsing {
    /// `23100\n` → 23100, `-4200` → -4200. One optional sign, decimal digits, then only
    /// whitespace; nil for anything else (empty, `23.1`, `abc`, more than 18 digits).
    public static func milliValue(_ bytes: some Collection<UInt8>) -> Int64? {
        var value: Int64 = 0
        var negative = false
        var digits = 0
        var i = bytes.startIndex
        while i != bytes.endIndex, isSpace(bytes[i]) { i = bytes.index(after: i) }
        if i != bytes.endIndex, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i = bytes.index(after: i)
        }
        while i != bytes.endIndex, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
            digits += 1
            if digits > 18 { return nil }
            value = value * 10 + Int64(bytes[i] - UInt8(ascii: "0"))
            i = bytes.index(after: i)
        }
        guard digits > 0 else { return nil }
        while i != bytes.endIndex {
            guard isSpace(bytes[i]) else { return nil }
            i = bytes.index(after: i)
        }
        return negative ? -value : value
    }

    /// Milli-units to units: 45200 → 45.2 (the correctly rounded quotient, so exactly the
    /// `Double` literal `45.2`).
    public static func units(fromMilli milli: Int64) -> Double { Double(milli) / 1000 }

    /// The content of a `name` attribute without its trailing newline or spaces; nil when it is
    /// empty or not UTF-8.
    public static func deviceName(_ bytes: some Collection<UInt8>) -> String? {
        var b = Array(bytes)
        while let last = b.last, isSpace(last) { b.removeLast() }
        while let first = b.first, isSpace(first) { b.removeFirst() }
        guard !b.isEmpty, let s = String(validating: b, as: UTF8.self) else { return nil }
        return s
    }

    /// Whether an IIO device called `name` is the `wanted` one: the same name, or `wanted` as a
    /// device-tree node name with a unit address (`dht11@4`) or an address prefix (`4.dht11`).
    /// `wanted: dht11@4` matches only `dht11@4`.
    public static func nameMatches(_ name: String, wanted: String) -> Bool {
        if name == wanted { return true }
        if name.hasPrefix(wanted + "@") { return true }
        if let dot = name.firstIndex(of: "."), name[name.index(after: dot)...] == wanted[...] { return true }
        return false
    }

    static func isSpace(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r")
    }
}
