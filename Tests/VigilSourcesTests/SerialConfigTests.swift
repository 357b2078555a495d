import Foundation
import Testing
import VigilCore
@testable import VigilSources

@Suite struct SerialConfigTests {
    static func decode(_ json: String) throws -> SerialSourceConfig {
        try JSONDecoder().decode(SerialSourceConfig.self, from: Data(json.utf8))
    }

    static func issues(_ json: String) throws -> [String] {
        try decode(json).validate().map(\.description)
    }

    static let fields = #""fields": [{"field": "t", "channel": "temperature", "unit": "°C"}]"#

    @Test func defaults() throws {
        let c = try Self.decode(#"{"kind": "serial", "path": "/dev/ttyUSB0", \#(Self.fields)}"#)
        #expect(c.name == "serial")
        #expect(c.path == "/dev/ttyUSB0")
        #expect(c.usb == nil)
        #expect(c.baud == 115_200)
        #expect(c.dataBits == 8)
        #expect(c.parity == .none)
        #expect(c.stopBits == 1)
        #expect(c.flowControl == .none)
        #expect(c.format == .kv)
        #expect(c.csvColumns == nil)
        #expect(c.maxLineLength == 512)
        #expect(c.reopenMin == .seconds(1))
        #expect(c.reopenMax == .seconds(30))
        #expect(c.fields == [SerialFieldMapping(field: "t", channel: "temperature", unit: "°C", scale: 1, offset: 0)])
        #expect(c.channelNames == ["temperature"])
        #expect(c.channelPaths.map(\.path) == [["fields", "0", "channel"]])
        #expect(c.validate().isEmpty)
    }

    @Test func everyField() throws {
        let c = try Self.decode(#"""
            {"kind": "serial", "name": "esp", "usb": {"vid": "0x10C4", "pid": "ea60", "serial": "0001"},
             "baud": 74880, "data_bits": 7, "parity": "even", "stop_bits": 2, "flow_control": "rtscts",
             "format": "csv", "csv_columns": ["time", "t", "h"], "max_line_length": 256,
             "reopen_min": "250ms", "reopen_max": "1m",
             "fields": [{"field": "t", "channel": "temperature", "unit": "°C", "scale": 0.1, "offset": -40},
                        {"field": "h", "channel": "humidity"}]}
            """#)
        #expect(c.name == "esp")
        #expect(c.usb == USBPortSelector(vid: "0x10C4", pid: "ea60", serial: "0001"))
        #expect(c.usb?.vendorID == 0x10C4 && c.usb?.productID == 0xEA60)
        #expect(c.usb?.description == "10c4:ea60 (serial 0001)")
        #expect(c.baud == 74880 && c.dataBits == 7 && c.parity == .even && c.stopBits == 2 && c.flowControl == .rtscts)
        #expect(c.format == .csv && c.csvColumns == ["time", "t", "h"] && c.maxLineLength == 256)
        #expect(c.reopenMin == .milliseconds(250) && c.reopenMax == .seconds(60))
        #expect(c.fields[0].scale == 0.1 && c.fields[0].offset == -40 && c.fields[1].unit == "")
        #expect(c.channelNames == ["temperature", "humidity"])
        #expect(c.validate().isEmpty)
    }

    @Test func numericUSBIdsAreReadAsHexDigits() throws {
        let c = try Self.decode(#"{"usb": {"vid": 403, "pid": 6001}, \#(Self.fields)}"#)
        #expect(c.usb?.vendorID == 0x0403 && c.usb?.productID == 0x6001)
    }

    @Test func unknownKeysAndBadChoicesAreDecodingErrors() {
        func message(_ json: String) -> String {
            do { _ = try Self.decode(json); return "decoded" } catch let DecodingError.dataCorrupted(ctx) {
                return ctx.debugDescription
            } catch { return "\(error)" }
        }
        #expect(message(#"{"path": "/dev/x", "bauds": 9600, \#(Self.fields)}"#).hasPrefix("unknown field 'bauds'"))
        #expect(message(#"{"path": "/dev/x", "parity": "mark", \#(Self.fields)}"#) == "'mark' is not a parity (known: none, odd, even)")
        #expect(message(#"{"path": "/dev/x", "format": "xml", \#(Self.fields)}"#) == "'xml' is not a format (known: kv, csv, semicolon, json)")
        #expect(message(#"{"path": "/dev/x", "flow_control": "dtrdsr", \#(Self.fields)}"#) == "'dtrdsr' is not a flow control (known: none, rtscts, xonxoff)")
        #expect(message(#"{"path": "/dev/x", "fields": [{"field": "t", "channel": "c", "units": "x"}]}"#).hasPrefix("unknown field 'units'"))
        #expect(message(#"{"usb": {"vid": "10c4", "pid": "ea60", "serial_number": "1"}, \#(Self.fields)}"#).hasPrefix("unknown field 'serial_number'"))
    }

    @Test func validationMessagesNameTheField() throws {
        let base = #""path": "/dev/ttyUSB0", "#
        let cases: [(String, String)] = [
            (#"\#(Self.fields)"#, "path: a serial source needs a port: set path (e.g. /dev/ttyUSB0) or usb (vid, pid)"),
            (#""path": "/dev/x", "usb": {"vid": "10c4", "pid": "ea60"}, \#(Self.fields)"#, "usb: set either path or usb, not both"),
            (#""path": "", \#(Self.fields)"#, "path: must not be empty"),
            (#""path": "ttyUSB0", \#(Self.fields)"#, "path: must be an absolute device path like /dev/ttyUSB0, got 'ttyUSB0'"),
            (#""usb": {"vid": "xyz", "pid": "ea60"}, \#(Self.fields)"#, "usb.vid: must be a USB vendor id in hex like 10c4, got 'xyz'"),
            (#""usb": {"vid": "10c4", "pid": "12345"}, \#(Self.fields)"#, "usb.pid: must be a USB product id in hex like ea60, got '12345'"),
            (#""usb": {"vid": "10c4", "pid": "ea60", "serial": ""}, \#(Self.fields)"#, "usb.serial: must not be empty (leave it out to match any)"),
            (#"\#(base)"name": "", \#(Self.fields)"#, "name: must not be empty"),
            (#"\#(base)"baud": 0, \#(Self.fields)"#, "baud: must be between 50 and 4000000, got 0"),
            (#"\#(base)"data_bits": 9, \#(Self.fields)"#, "data_bits: must be 5, 6, 7 or 8, got 9"),
            (#"\#(base)"stop_bits": 3, \#(Self.fields)"#, "stop_bits: must be 1 or 2, got 3"),
            (#"\#(base)"max_line_length": 8, \#(Self.fields)"#, "max_line_length: must be between 16 and 65536, got 8"),
            (#"\#(base)"reopen_min": "10ms", \#(Self.fields)"#, "reopen_min: must be at least 100ms, got 10ms"),
            (#"\#(base)"reopen_min": "5s", "reopen_max": "2s", \#(Self.fields)"#, "reopen_max: must not be below reopen_min (5s), got 2s"),
            (#"\#(base)"csv_columns": ["t"], \#(Self.fields)"#, "csv_columns: only applies to format csv or semicolon, not kv"),
            (#"\#(base)"format": "csv", "csv_columns": [], \#(Self.fields)"#, "csv_columns: must list at least one column"),
            (#"\#(base)"format": "csv", "csv_columns": ["t", "", "x"], \#(Self.fields)"#, "csv_columns[1]: must not be empty"),
            (#"\#(base)"format": "csv", "csv_columns": ["t", "x", "t"], \#(Self.fields)"#, "csv_columns[2]: 't' is already csv_columns[0]"),
            (#"\#(base)"format": "semicolon", "csv_columns": ["a", "b"], \#(Self.fields)"#, "fields[0].field: 't' is not one of csv_columns (a, b)"),
            (#"\#(base)"fields": []"#, "fields: must map at least one field to a channel"),
            (#"\#(base)"fields": [{"field": "", "channel": "c"}]"#, "fields[0].field: must not be empty"),
            (#"\#(base)"fields": [{"field": "t", "channel": ""}]"#, "fields[0].channel: must not be empty"),
            (#"\#(base)"fields": [{"field": "t", "channel": "temperature"}, {"field": "t2", "channel": "temperature"}]"#,
             "fields[1].channel: 'temperature' is mapped twice"),
            (#"\#(base)"fields": [{"field": "t", "channel": "a"}, {"field": "t", "channel": "b"}]"#, "fields[1].field: 't' is mapped twice"),
            (#"\#(base)"fields": [{"field": "t", "channel": "a", "scale": 0}]"#, "fields[0].scale: must be finite and not 0, got 0.0"),
        ]
        for (body, expected) in cases {
            #expect(try Self.issues("{\(body)}") == [expected], "\(body)")
        }
    }

    @Test func sourceRefusesAnInvalidConfig() {
        let config = SerialSourceConfig(path: "/dev/x", fields: [])
        #expect(throws: SerialConfigError.self) { try SerialSource(config: config) }
        do { _ = try SerialSource(config: config) } catch {
            #expect(error.description == "fields: must map at least one field to a channel")
        }
    }

    @Test func sourceChannelsFollowTheFields() throws {
        let s = try SerialSource(config: SerialSourceConfig(name: "esp", path: "/dev/ttyUSB0", fields: espFields))
        #expect(s.name == "esp")
        #expect(s.channels == [ChannelInfo(name: "temperature", unit: "°C"), ChannelInfo(name: "humidity", unit: "%RH"),
                               ChannelInfo(name: "sound", unit: "dB")])
        #expect(s.settingsSummary == "115200 8N1, kv")
    }
}
