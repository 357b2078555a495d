import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VigilTestSupport

/// The web page of a running `vigil-fleet`, fed through a real mosquitto, loaded by a real headless Chromium
/// (Debian's package): the DOM after load, and screenshots kept under .build/test-artefacts/fleet-page/.
@Suite(.serialized) struct FleetPageBrowserTests {
    static let artefacts: URL = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/test-artefacts/fleet-page")
    }()

    static func get(_ url: String) async throws -> (status: Int, body: String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    /// The part of `dom` from the plot of `channel` to its end.
    static func svg(_ channel: String, in dom: String) -> String {
        guard let start = dom.range(of: "<svg class=\"plot\" data-channel=\"\(channel)\""),
              let end = dom.range(of: "</svg>", range: start.upperBound..<dom.endIndex) else { return "" }
        return String(dom[start.lowerBound..<end.upperBound])
    }

    static let scriptReason = #"<script>alert(\"r\")</script> 'x'"#   // JSON-escaped as the device sends it
    static let scriptCheck = "<script>alert(1)</script>"

    @Test(.enabled(if: HeadlessChromium.shouldRun,
                   "chromium is not installed: apt-get install chromium (make test installs it and sets VIGIL_BROWSER_TESTS=required)"))
    func overviewAndDevicePageInChromium() async throws {
        let f = try FleetHTTPFixture(clientID: "fleet-page")
        let (db, fleet, pub) = (f.db, f.fleet, f.publish)
        let day = "2026-11-23T"
        try pub("gw-1/status", FleetPayloads.birth("gw-1", first: 1))
        for (seq, (minute, mean)) in [(40, 21.0), (41, 23.0), (42, 22.0)].enumerated() {
            try pub("gw-1/summary/temperature", FleetPayloads.summary("gw-1", UInt64(seq + 1), mean: mean,
                                                                      at: "\(day)11:\(minute + 1):00.000Z", from: "\(day)11:\(minute):00.000Z"))
        }
        try pub("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 4, "start", episode: 1, at: "\(day)11:40:30.000Z"))
        try pub("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 5, "end", episode: 1, at: "\(day)11:41:00.000Z"))
        try pub("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 6, "start", episode: 2, at: "\(day)11:42:30.000Z"))
        try pub("gw-1/health/humidity", FleetPayloads.health("gw-1", 7, "start", channel: "humidity", check: Self.scriptCheck))
        try pub("gw-1/health", FleetPayloads.source("gw-1", 8, up: false, reason: Self.scriptReason))
        try pub("gw-2/status", FleetPayloads.birth("gw-2", first: 1))
        try pub("gw-2/summary/temperature", FleetPayloads.summary("gw-2", 1))
        #expect(try waitUntil(timeout: 10) { try db.rows("SELECT value FROM counters WHERE name = 'received'") == [["11"]] })
        let base = f.base

        // Served complete, without JavaScript: the device list, the open anomaly first, escaped device text.
        let plain = try await Self.get(base + "/")
        #expect(plain.status == 200)
        #expect(plain.body.contains(#"<tr class="problem anomaly"><td>anomaly</td><td><a href="/devices/gw-1">gw-1</a></td><td>temperature</td><td>episode 2, zscore, z 6.104</td>"#))
        #expect(plain.body.contains("&lt;script&gt;alert(&quot;r&quot;)&lt;/script&gt; &#39;x&#39;"))
        #expect(Self.count("<script", in: plain.body) == 1)

        let overview = try HeadlessChromium.dumpDOM(base + "/")
        // Devices: open anomalies first, both online.
        let devices = overview.components(separatedBy: "<tr class=\"device\">").dropFirst().map { $0.prefix(200) }
        #expect(devices.count == 2)
        #expect(devices.first?.hasPrefix(#"<td><a href="/devices/gw-1">gw-1</a></td><td><span class="state online">online</span>"#) == true)
        #expect(devices.last?.hasPrefix(#"<td><a href="/devices/gw-2">gw-2</a></td><td><span class="state online">online</span>"#) == true)
        #expect(overview.contains("<td>episode 2, zscore, z 6.104</td>"))
        #expect(Self.count("<tr class=\"problem ", in: overview) == 3)
        // Device-supplied text is text in the DOM: no script element from it, only the page's own.
        #expect(overview.contains(#"<td>/dev/ttyUSB0: &lt;script&gt;alert("r")&lt;/script&gt; 'x'</td>"#))
        #expect(overview.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"))
        #expect(Self.count("<script", in: overview) == 1)

        let page = try HeadlessChromium.dumpDOM(base + "/devices/gw-1")
        let temperature = Self.svg("temperature", in: page)
        #expect(temperature.contains("data-points=\"3\""))
        #expect(Self.count("<circle class=\"point\"", in: temperature) == 3)
        #expect(Self.count("<rect class=\"episode\"", in: temperature) == 1)
        #expect(Self.count("<rect class=\"episode open\"", in: temperature) == 1)
        #expect(Self.count("<rect class=\"health", in: temperature) == 0)
        let humidity = Self.svg("humidity", in: page)
        #expect(Self.count("<rect class=\"health open\"", in: humidity) == 1)
        #expect(humidity.contains("<title>health &lt;script&gt;alert(1)&lt;/script&gt;: "))
        // The event log under the plots: every stored event of gw-1, newest first.
        let log = page.components(separatedBy: "<table class=\"events\">").last ?? ""
        #expect(log.components(separatedBy: "<tr class=\"").dropFirst().map { $0.prefix(while: { $0 != "\"" }) }
                == ["source", "health", "anomaly", "anomaly", "anomaly", "summary", "summary", "summary"])
        #expect(Self.count("<script", in: page) == 1)

        try FileManager.default.createDirectory(at: Self.artefacts, withIntermediateDirectories: true)
        for (name, path) in [("overview", "/"), ("device-gw-1", "/devices/gw-1")] {
            let png = Self.artefacts.appendingPathComponent("\(name).png").path
            try? FileManager.default.removeItem(atPath: png)
            try HeadlessChromium.screenshot(base + path, to: png)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
            #expect(bytes.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
            print("fleet page screenshot: \(png) (\(bytes.count) bytes)")
        }
        fleet.stop()
        #expect(fleet.exitStatus == 0)
    }

    @Test func filtersAndTheChangeStream() async throws {
        let f = try FleetHTTPFixture(clientID: "fleet-stream")
        let (db, fleet, pub) = (f.db, f.fleet, f.publish)
        let base = f.base
        let stream = try StreamingGet(base + "/api/stream")
        #expect(waitUntil(timeout: 10) { stream.text.hasPrefix(": subscribed\n\n") })
        try pub("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start"))
        try pub("gw-2/health/humidity", FleetPayloads.health("gw-2", 1, "start", channel: "humidity"))
        // One notice per committed batch, naming the devices it touched.
        #expect(waitUntil(timeout: 10) { stream.text.contains(#""gw-2"]}"#) })
        let notices = stream.text.components(separatedBy: "\n").filter { $0.hasPrefix("data: ") }
        #expect(Set(notices.flatMap { try! JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as! [String: [String]] }
                    .flatMap(\.value)) == ["gw-1", "gw-2"])

        let health = try await Self.get(base + "/?kind=health").body
        #expect(Self.count("<tr class=\"problem ", in: health) == 1 && health.contains("<td>humidity</td><td>stuck</td>"))
        #expect(Self.count("<tr class=\"device\">", in: health) == 1 && health.contains(">gw-2</a>"))
        let channel = try await Self.get(base + "/?channel=temperature").body
        #expect(Self.count("<tr class=\"device\">", in: channel) == 1 && channel.contains(">gw-1</a>"))
        let named = try await Self.get(base + "/?device=gw-2").body
        #expect(Self.count("<tr class=\"device\">", in: named) == 1 && Self.count("<tr class=\"problem ", in: named) == 1)
        #expect(try await Self.get(base + "/?kind=bogus").status == 400)
        #expect(try await Self.get(base + "/devices/gw-9").status == 404)
        #expect(try await Self.get(base + "/devices/%3Cscript%3E").status == 400)

        // Stopping the receiver ends the open stream.
        fleet.stop()
        #expect(fleet.exitStatus == 0)
        #expect(stream.waitForExit(timeout: 10))
    }
}
