import Testing
@testable import VigilSources

@Suite struct SerialSplitterTests {
    static let stream = Array("t=21.5,h=40.1\r\nsnd=55\nx=1\ry=2\r\n\r\n{\"t\":1}\n\ndone=1\r".utf8)
    static let expected = ["t=21.5,h=40.1", "snd=55", "x=1", "y=2", "{\"t\":1}", "done=1"].map { Array($0.utf8) }

    @Test func wholeStream() {
        #expect(LineSplitter(maxLineLength: 64).lines(Self.stream) == Self.expected)
    }

    @Test func splitAtEveryBytePosition() {
        for cut in 0...Self.stream.count {
            let s = LineSplitter(maxLineLength: 64)
            var out = s.lines(Array(Self.stream[..<cut]))
            out += s.lines(Array(Self.stream[cut...]))
            #expect(out == Self.expected, "cut at \(cut)")
        }
    }

    @Test func splitAtEveryPairOfPositions() {
        let n = Self.stream.count
        for a in 0...n {
            for b in a...n {
                let s = LineSplitter(maxLineLength: 64)
                let out = s.lines(Array(Self.stream[..<a])) + s.lines(Array(Self.stream[a..<b])) + s.lines(Array(Self.stream[b...]))
                #expect(out == Self.expected, "cuts at \(a), \(b)")
            }
        }
    }

    @Test func oneByteAtATime() {
        let s = LineSplitter(maxLineLength: 64)
        var out: [[UInt8]] = []
        for b in Self.stream { out += s.lines([b]) }
        #expect(out == Self.expected)
    }

    @Test func lineBreakKinds() {
        let s = LineSplitter(maxLineLength: 16)
        #expect(s.lines(Array("a\nb\rc\r\nd".utf8)) == [[97], [98], [99]])
        #expect(s.bufferedCount == 1)  // "d" waits for its break
        #expect(s.lines(Array("\n".utf8)) == [[100]])
    }

    @Test func crlfAcrossChunksIsOneBreak() {
        let s = LineSplitter(maxLineLength: 16)
        #expect(s.lines(Array("a\r".utf8)) == [[97]])
        #expect(s.lines(Array("\nb\r".utf8)) == [[98]])
        #expect(s.lines(Array("\n".utf8)) == [])
        #expect(s.lines(Array("c\n".utf8)) == [[99]])
        // CR CR LF: the second CR ends an empty line, which is not reported.
        #expect(s.lines(Array("d\r".utf8)) + s.lines(Array("\r\ne\n".utf8)) == [[100], [101]])
    }

    @Test func lineOfExactlyMaxLengthPasses() {
        let s = LineSplitter(maxLineLength: 8)
        #expect(s.lines(Array("12345678\n".utf8)) == [Array("12345678".utf8)])
        #expect(s.lines(Array("1234".utf8)) == [])
        #expect(s.lines(Array("5678\n".utf8)) == [Array("12345678".utf8)])
        #expect(s.overlongLines == 0)
    }

    @Test func overlongLineIsDiscardedAndCounted() {
        let s = LineSplitter(maxLineLength: 8)
        #expect(s.lines(Array("123456789\nok\n".utf8)) == [Array("ok".utf8)])
        #expect(s.overlongLines == 1)
    }

    @Test func overlongLineAcrossChunksIsDiscardedUpToTheNextBreak() {
        let s = LineSplitter(maxLineLength: 8)
        var out = s.lines(Array("12345".utf8))
        out += s.lines(Array("6789abcdef".utf8))
        #expect(s.bufferedCount == 0)
        out += s.lines(Array("ghijklmnopqrstuvwxyz".utf8))
        #expect(s.bufferedCount == 0)
        out += s.lines(Array("xyz\r".utf8))
        out += s.lines(Array("\nnext\n".utf8))
        #expect(out == [Array("next".utf8)])
        #expect(s.overlongLines == 1)
        // The split point of the overflow does not matter: prefix held, tail in the next chunk.
        out = s.lines(Array("1234567".utf8)) + s.lines(Array("89\nfine\n".utf8))
        #expect(out == [Array("fine".utf8)])
        #expect(s.overlongLines == 2)
    }

    @Test func resetDropsThePartialLine() {
        let s = LineSplitter(maxLineLength: 8)
        #expect(s.lines(Array("t=2".utf8)) == [])
        s.reset()
        #expect(s.lines(Array("h=1\n".utf8)) == [Array("h=1".utf8)])
        // A reset also ends a discard in progress.
        _ = s.lines(Array("0123456789".utf8))
        s.reset()
        #expect(s.lines(Array("ok\n".utf8)) == [Array("ok".utf8)])
    }
}
