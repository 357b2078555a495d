import Testing
import VigilCore
@testable import VigilFleet

/// The page's pure parts: the one escaping function, templates built on it, the SVG plot, the filters.
@Suite struct FleetPageTests {
    @Test func escapeTurnsMarkupCharactersIntoReferences() {
        #expect(HTML.escape(#"<script>alert("x")</script>"#) == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;")
        #expect(HTML.escape(#"a & b 'c' "d" °C"#) == "a &amp; b &#39;c&#39; &quot;d&quot; °C")
        #expect(HTML.escape("&lt;") == "&amp;lt;")
        #expect(HTML.escape("plain-name_1.2") == "plain-name_1.2")
    }

    @Test func templatesEscapeStringsAndKeepMarkup() {
        let reason = #"<script>alert('r')</script>"#
        let cell: Markup = "<td title=\"\(reason)\">\(reason)</td>"
        #expect(cell.html == "<td title=\"&lt;script&gt;alert(&#39;r&#39;)&lt;/script&gt;\">&lt;script&gt;alert(&#39;r&#39;)&lt;/script&gt;</td>")
        let row: Markup = "<tr>\(cell)\([Markup("<td>1</td>"), "<td>\("<b>")</td>"])</tr>"
        #expect(row.html == "<tr>" + cell.html + "<td>1</td><td>&lt;b&gt;</td></tr>")
    }

    @Test func aSourceReasonWithScriptIsEscapedInTheOverview() {
        let problem = FleetView.Problem(device: "gw-1", kind: .source, subject: "esp8266",
                                        detail: #"/dev/"tty"0: <script>alert(1)</script>"#, sinceNanos: 0)
        let html = FleetPages.overview(devices: [], problems: [problem], filter: PageFilter()).html
        #expect(!html.contains("<script>alert"))
        #expect(html.contains("<td>/dev/&quot;tty&quot;0: &lt;script&gt;alert(1)&lt;/script&gt;</td>"))
        #expect(html.components(separatedBy: "<script").count == 2)   // the page's own script only
        // The filter's echo in the form is escaped too.
        let filtered = FleetPages.overview(devices: [], problems: [problem], filter: PageFilter(device: #""><script>"#)).html
        #expect(filtered.contains(#"<input name="device" value="&quot;&gt;&lt;script&gt;">"#))
        #expect(filtered.components(separatedBy: "<script").count == 2)
    }

    static let minute: Int64 = 60_000_000_000
    static func point(_ i: Int64, mean: Double) -> FleetView.SummaryPoint {
        FleetView.SummaryPoint(fromNanos: i * minute, tsNanos: (i + 1) * minute, mean: mean, min: mean - 1, max: mean + 1)
    }

    @Test func plotHasOnePointPerSummaryAndOneMarkPerPeriodInRange() {
        let series = FleetView.ChannelSeries(channel: "temperature", unit: "°C",
            points: [Self.point(0, mean: 20), Self.point(1, mean: 22), Self.point(2, mean: 21)],
            periods: [FleetView.Period(kind: .anomaly, label: "episode 1", startNanos: Self.minute, endNanos: 2 * Self.minute),
                      FleetView.Period(kind: .anomaly, label: "episode 2", startNanos: 3 * Self.minute / 2, endNanos: nil),
                      FleetView.Period(kind: .health, label: "stuck", startNanos: 2 * Self.minute, endNanos: 3 * Self.minute),
                      // Wholly before the plotted range: left out.
                      FleetView.Period(kind: .anomaly, label: "episode 0", startNanos: -9 * Self.minute, endNanos: -8 * Self.minute)])
        let svg = ChannelPlot(series: series).markup.html
        #expect(svg.hasPrefix("<svg class=\"plot\" data-channel=\"temperature\""))
        #expect(svg.contains("data-points=\"3\""))
        // Range 0…3 min and 19…23: x = 56 + t / 3 min * 736, y = 8 + (23 - v) / 4 * 130.
        #expect(svg.contains("points=\"301.3,105.5 546.7,40.5 792.0,73.0\""))
        #expect(svg.components(separatedBy: "<rect class=\"episode").count - 1 == 2)
        #expect(svg.components(separatedBy: "<rect class=\"episode open\"").count - 1 == 1)
        #expect(svg.components(separatedBy: "<rect class=\"health\"").count - 1 == 1)
        #expect(svg.contains("<rect class=\"episode\" x=\"301.3\" y=\"8.0\" width=\"245.3\" height=\"130.0\">"))
        #expect(svg.contains("(°C)"))
    }

    @Test func plotWithoutDataSaysSo() {
        let svg = ChannelPlot(series: FleetView.ChannelSeries(channel: "x", unit: "", points: [], periods: [])).markup.html
        #expect(svg == "<p class=\"empty\">no summaries yet</p>")
    }

    @Test func filtersKeepMatchingProblemsAndTheirDevices() {
        let problems = [FleetView.Problem(device: "gw-1", kind: .anomaly, subject: "temperature", detail: "", sinceNanos: 0),
                        FleetView.Problem(device: "gw-2", kind: .health, subject: "humidity", detail: "stuck", sinceNanos: 0)]
        #expect(problems.filter(PageFilter(kind: .health).keeps).map(\.device) == ["gw-2"])
        #expect(problems.filter(PageFilter(channel: "temperature").keeps).map(\.device) == ["gw-1"])
        #expect(problems.filter(PageFilter(device: "gw-").keeps).count == 2)
        #expect(problems.filter(PageFilter(device: "gw-1", kind: .health).keeps).isEmpty)
    }

    @Test func changeNoticesNameTheDevicesSorted() {
        #expect(ChangeFeed.notice(["gw-2", "gw-1"]) == #"{"devices":["gw-1","gw-2"]}"#)
    }
}
