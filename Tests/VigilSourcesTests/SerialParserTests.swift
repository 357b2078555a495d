import Foundation
import Testing
import VigilCore
@testable import VigilSources

@Suite struct SerialParserTests {
    func kv(_ fields: [SerialFieldMapping] = espFields) -> LineParser { LineParser(format: .kv, fields: fields) }

    // MARK: kv

    @Test func kvSeparatorsAndExactValues() {
        let p = kv()
        for line in ["t=21.5,h=40.1 snd=55", "t=21.5;h=40.1\tsnd=55", "t:21.5, h:40.1, snd:55", "  t = 21.5 ,h: 40.1 ;snd=55  ",
                     "snd=55,h=40.1,t=21.5"] {
            #expect(p.parse(line) == .data, "\(line)")
            #expect(p.values == [21.5, 40.1, 55], "\(line)")
        }
        #expect(p.counters.lines == 5)
        #expect(p.counters.dataLines == 5)
        #expect(p.counters.readings == 15)
        #expect(p.counters.missing == 0)
    }

    @Test func kvArduinoStyleLabels() {
        let p = kv([SerialFieldMapping(field: "Temperature", channel: "temperature"),
                    SerialFieldMapping(field: "Humidity", channel: "humidity")])
        #expect(p.parse("Temperature: 21.50 *C Humidity: 40.00 %") == .data)
        #expect(p.values == [21.5, 40])
    }

    @Test func kvMissingFieldIsNaNNotZero() {
        let p = kv()
        #expect(p.parse("t=21.5,snd=55") == .data)
        #expect(p.values[0] == 21.5)
        #expect(p.values[1].isNaN)
        #expect(p.values[2] == 55)
        #expect(p.counters.readings == 2)
        #expect(p.counters.missing == 1)
    }

    @Test func kvNanAndInfAreDroppedReadings() {
        let p = kv()
        // A DHT22 read failure prints nan: the line is data, the value dropped.
        #expect(p.parse("t=nan,h=NaN,snd=42") == .data)
        #expect(p.values[0].isNaN && p.values[1].isNaN && p.values[2] == 42)
        #expect(p.parse("t=inf,h=-Infinity") == .data)
        #expect(p.values.allSatisfy { $0.isNaN })
        #expect(p.counters.missing == 5)
        #expect(p.counters.readings == 1)
        #expect(p.counters.badLines == 0)
    }

    @Test func kvWithoutAnyUsableFieldIsBad() {
        let p = kv()
        for line in ["hello world", "WiFi connected", "t=abc", "t=,h=", "t=21.5C", "=5", "t"] {
            #expect(p.parse(line) == .bad, "\(line)")
        }
        #expect(p.counters.badLines == 7)
        #expect(p.counters.dataLines == 0)
        #expect(p.counters.readings == 0)
    }

    @Test func kvUnknownFieldsAreCountedAndNamedOnce() {
        let p = kv()
        #expect(p.parse("t=1,x=2,y=3") == .data)
        #expect(p.counters.unknownFields == 2)
        #expect(p.takeNewUnknownFields() == ["x", "y"])
        #expect(p.parse("x=5 t=2 vcc:3.3") == .data)
        #expect(p.counters.unknownFields == 4)
        #expect(p.takeNewUnknownFields() == ["vcc"])
        #expect(p.takeNewUnknownFields() == [])
    }

    @Test func scaleAndOffsetApply() {
        let p = kv([SerialFieldMapping(field: "raw", channel: "sound", unit: "dB", scale: 0.1, offset: -40),
                    SerialFieldMapping(field: "f", channel: "temperature", scale: 5.0 / 9.0, offset: -32 * 5.0 / 9.0)])
        #expect(p.parse("raw=1023,f=212") == .data)
        #expect(p.values[0] == 1023 * 0.1 + -40)
        #expect(p.values[1] == 212 * (5.0 / 9.0) + (-32 * 5.0 / 9.0))
        #expect(p.parse("raw=1e400") == .data)  // ±inf after scaling: dropped
        #expect(p.values[0].isNaN)
    }

    @Test func numbersParseExactly() {
        let p = kv([SerialFieldMapping(field: "v", channel: "v")])
        let cases: [(String, Double)] = [
            ("0", 0), ("-0", -0.0), ("+7", 7), ("21.5", 21.5), ("-1.5e3", -1500), ("+.5", 0.5), ("5.", 5),
            ("0.1", 0.1), ("1E-7", 1e-7), ("2.5e+2", 250), ("0.000123", 0.000123),
            ("123456789012345678901234", 123456789012345678901234.0), ("1.7976931348623157e308", 1.7976931348623157e308),
            ("4.9e-324", .leastNonzeroMagnitude), ("3.141592653589793238462643383279", 3.141592653589793), ("1e-400", 0),
            ("9007199254740993", 9007199254740992), ("0.30000000000000004", 0.30000000000000004),
        ]
        for (text, value) in cases {
            #expect(p.parse("v=\(text)") == .data, "\(text)")
            #expect(p.values[0] == value, "\(text) → \(p.values[0])")
        }
        for bad in ["1e", "1e+", ".", "-", "+", "1.2.3", "0x10", "e5", "--1", "nanx", "in", "1_000", "½"] {
            let q = kv([SerialFieldMapping(field: "v", channel: "v")])
            _ = q.parse("v=\(bad)")
            #expect(q.counters.readings == 0, "\(bad)")
        }
    }

    @Test func numbersMatchSwiftOnRandomDecimals() {
        var rng = SerialRNG(seed: 42)
        let p = kv([SerialFieldMapping(field: "v", channel: "v")])
        for _ in 0..<20_000 {
            var s = Bool.random(using: &rng) ? "-" : ""
            let intDigits = Int.random(in: 0...20, using: &rng)
            let fracDigits = Int.random(in: 0...20, using: &rng)
            if intDigits + fracDigits == 0 { continue }
            for _ in 0..<intDigits { s += String(Int.random(in: 0...9, using: &rng)) }
            if fracDigits > 0 || Bool.random(using: &rng) { s += "." }
            for _ in 0..<fracDigits { s += String(Int.random(in: 0...9, using: &rng)) }
            if Int.random(in: 0..<3, using: &rng) == 0 { s += "e" + String(Int.random(in: -330...310, using: &rng)) }
            let expected = strtod(s, nil)
            #expect(p.parse("v=\(s)") == .data, "\(s)")
            let got = p.values[0]
            #expect(expected.isFinite ? got == expected : got.isNaN, "\(s): \(got) vs \(expected)")
        }
    }

    // MARK: csv / semicolon

    @Test func csvHeaderIsConsumedAndMapsColumns() {
        let p = LineParser(format: .csv, fields: espFields)
        #expect(p.parse("21.5,40.1,55") == .bad)  // no header yet
        #expect(p.parse("t,h,snd,vcc") == .header)
        #expect(p.columns == ["t", "h", "snd", "vcc"])
        #expect(p.counters.unknownFields == 1)
        #expect(p.takeNewUnknownFields() == ["vcc"])
        #expect(p.parse("21.5,40.1,55,3.3") == .data)
        #expect(p.values == [21.5, 40.1, 55])
        #expect(p.parse(" 21.5 , , 55 ,3.3") == .data)
        #expect(p.values[0] == 21.5 && p.values[1].isNaN && p.values[2] == 55)
        #expect(p.parse("21.5,40.1,55,3.3,") == .data)  // a trailing comma is tolerated
        #expect(p.parse("21.5,40.1") == .bad)           // wrong number of columns
        #expect(p.parse("21.5,40.1,55,3.3,9") == .bad)
        #expect(p.parse("t,h,snd,vcc") == .header)      // the same header again: nothing new
        #expect(p.counters.unknownFields == 1)
        // The device reset and prints its columns in another order.
        #expect(p.parse("\"snd\",\"t\",\"h\"") == .header)
        #expect(p.parse("55,21.5,40.1") == .data)
        #expect(p.values == [21.5, 40.1, 55])
        #expect(p.counters.headerLines == 3)
        #expect(p.counters.badLines == 3)
        #expect(p.counters.dataLines == 4)
    }

    @Test func csvHeaderMustNameAMappedField() {
        let p = LineParser(format: .csv, fields: espFields)
        #expect(p.parse("Booting...") == .bad)
        #expect(p.parse("a,b,c") == .bad)
        #expect(p.columns == nil)
    }

    @Test func csvFixedColumns() {
        let p = LineParser(format: .csv, fields: espFields, csvColumns: ["time", "t", "h", "snd"])
        #expect(p.parse("1000,21.5,40.1,55") == .data)
        #expect(p.values == [21.5, 40.1, 55])
        #expect(p.parse("time,t,h,snd") == .header)  // consumed, not bad
        #expect(p.parse("h,t") == .header)            // does not replace fixed columns
        #expect(p.columns == ["time", "t", "h", "snd"])
        #expect(p.parse("2000,22,41,56") == .data)
        #expect(p.values == [22, 41, 56])
        #expect(p.counters.badLines == 0)
    }

    @Test func semicolonSeparated() {
        let p = LineParser(format: .semicolon, fields: espFields)
        #expect(p.parse("t;h;snd") == .header)
        #expect(p.parse("21.5;40.1;55") == .data)
        #expect(p.values == [21.5, 40.1, 55])
        #expect(p.parse("21.5,40.1,55") == .bad)
    }

    // MARK: json

    @Test func jsonFlatObject() {
        let p = LineParser(format: .json, fields: espFields)
        #expect(p.parse("{\"t\":21.5,\"h\":40.1,\"snd\":55}") == .data)
        #expect(p.values == [21.5, 40.1, 55])
        #expect(p.parse("  { \"snd\" : -5e-1 , \"t\" : 0 }  ") == .data)
        #expect(p.values[0] == 0 && p.values[1].isNaN && p.values[2] == -0.5)
        #expect(p.parse("{\"t\":\"21.5\",\"h\":null}") == .data)  // numeric string; null is dropped
        #expect(p.values[0] == 21.5 && p.values[1].isNaN && p.values[2].isNaN)
        #expect(p.parse("{\"t\":NaN,\"h\":1}") == .data)
        #expect(p.values[0].isNaN && p.values[1] == 1)
        #expect(p.parse("{\"\\u0074\":3,\"h\\\"x\":4}") == .data)  // escaped keys
        #expect(p.values[0] == 3)
        #expect(p.counters.unknownFields == 1)
        #expect(p.takeNewUnknownFields() == ["h\"x"])
    }

    @Test func jsonNestedValuesAreIgnored() {
        let p = LineParser(format: .json, fields: espFields)
        #expect(p.parse("{\"meta\":{\"a\":[1,2,{\"b\":\"}]\"}]},\"t\":1,\"ok\":true,\"name\":\"esp\"}") == .data)
        #expect(p.values[0] == 1)
        #expect(p.counters.unknownFields == 3)
        #expect(p.parse("{\"t\":[1,2]}") == .bad)
        #expect(p.parse("{\"t\":true}") == .bad)
    }

    @Test func jsonMalformedIsBad() {
        let p = LineParser(format: .json, fields: espFields)
        for line in ["{\"t\":21.5", "{\"t\":21.5} x", "[1,2]", "{t:1}", "{\"t\" 1}", "{\"t\":1,}", "{\"t\":abc}",
                     "{}", "{\"t\":\"21", "t=21.5", "{\"t\":1 \"h\":2}", "{\"t\":{\"a\":1}"] {
            #expect(p.parse(line) == .bad, "\(line)")
            #expect(p.values.allSatisfy { $0.isNaN }, "\(line)")
        }
        #expect(p.counters.badLines == 12)
    }

    // MARK: garbage

    @Test func garbageIsSkippedAndCounted() {
        let p = kv()
        let noise: [[UInt8]] = [
            // What the ESP8266 ROM's 74880-baud banner looks like read at 115200.
            [0x20, 0xE0, 0x00, 0x1C, 0xF2, 0x6E, 0xEC, 0x8C, 0x9C, 0x9C, 0x72, 0x63, 0x8C, 0x0C, 0x64],
            [0x6C, 0x9C, 0x9E, 0x7C, 0x00, 0x8C, 0x64, 0x8C, 0x0C, 0x0C, 0x62, 0x7C, 0x8E, 0xE2],
            Array("t=21.5\u{7}".utf8),          // a control byte
            Array("t=21.5".utf8) + [0x80],       // a lone continuation byte
            [0x74, 0x3D, 0xC0, 0xAF],            // an overlong encoding
            [0xED, 0xA0, 0x80],                  // a surrogate
            [0xC2, 0x85, 0x41],                  // a C1 control
            Array("ÿÿÿÿ=1".utf8),                // valid UTF-8, mostly non-ASCII
            [0x74, 0x3D, 0x31, 0x7F],            // DEL
        ]
        for line in noise { #expect(p.parse(line) == .garbage, "\(line)") }
        #expect(p.counters.garbageLines == noise.count)
        #expect(p.counters.badLines == 0)
        // Tabs and a little UTF-8 are fine.
        #expect(p.parse("t=21.5\tunit=°C") == .data)
        #expect(p.parse("Température:21.5 t=1") == .data)
        #expect(p.counters.garbageLines == noise.count)
    }
}
