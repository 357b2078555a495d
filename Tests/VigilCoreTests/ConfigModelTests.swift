import Testing
import VigilCore

@Suite struct ConfigModelTests {
    @Test func durationsParse() {
        #expect(ConfigDuration(parsing: "250ms")?.nanoseconds == 250_000_000)
        #expect(ConfigDuration(parsing: "20s")?.nanoseconds == 20_000_000_000)
        #expect(ConfigDuration(parsing: "1.5s")?.nanoseconds == 1_500_000_000)
        #expect(ConfigDuration(parsing: "5m")?.nanoseconds == 300_000_000_000)
        #expect(ConfigDuration(parsing: "2h")?.nanoseconds == 7_200_000_000_000)
        #expect(ConfigDuration(parsing: "30")?.nanoseconds == 30_000_000_000)
        #expect(ConfigDuration(parsing: "-1s") == nil)
        #expect(ConfigDuration(parsing: "soon") == nil)
        #expect(ConfigDuration(parsing: "5 parsecs") == nil)
    }

    @Test func durationsStopAtTenYears() {
        #expect(ConfigDuration.maximum.nanoseconds == 315_360_000_000_000_000)
        #expect(ConfigDuration.parse("3650d") == .success(.maximum))
        #expect(ConfigDuration.parse("315360000") == .success(.maximum))
        #expect(ConfigDuration.parse("3650.001d") == .failure(.tooLong))
        #expect(ConfigDuration.parse("999999999h") == .failure(.tooLong))
        #expect(ConfigDuration.parse("300000000000s") == .failure(.tooLong))
        #expect(ConfigDuration.parse("1e300") == .failure(.tooLong))
        #expect(ConfigDuration.parse("-1s") == .failure(.malformed))
        #expect(ConfigDuration.parse("inf") == .failure(.malformed))
        #expect(ConfigDuration(parsing: "1e10") == nil)
    }

    @Test func brokerURLs() throws {
        #expect(try BrokerAddress.parse("mqtt://127.0.0.1:1884").get() == BrokerAddress(host: "127.0.0.1", port: 1884))
        #expect(try BrokerAddress.parse("mqtt://broker.local").get() == BrokerAddress(host: "broker.local", port: 1883))
        #expect(try BrokerAddress.parse("mqtt://[::1]:1999").get() == BrokerAddress(host: "::1", port: 1999))
        #expect(throws: BrokerAddress.ParseError.self) { try BrokerAddress.parse("http://x").get() }
        #expect(throws: BrokerAddress.ParseError.self) { try BrokerAddress.parse("mqtt://x:0").get() }
        #expect(throws: BrokerAddress.ParseError.self) { try BrokerAddress.parse("mqtt://x:99999").get() }
        #expect(throws: BrokerAddress.ParseError.self) { try BrokerAddress.parse("mqtt://").get() }
    }

    @Test func issueFieldNamesReadLikeTheFile() {
        #expect(ConfigIssue(["sources", "0", "channels", "1", "std"], "x").field == "sources[0].channels[1].std")
        #expect(ConfigIssue(["detector", "z_off"], "must not exceed z_on").description == "detector.z_off: must not exceed z_on")
    }
}
