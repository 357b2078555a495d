import VigilCore

// `format: csv` and `format: semicolon`: cells split in place, a header line adopted as the columns.
extension LineParser {
    func adoptColumns(_ cols: [String]) {
        columns = cols
        columnMap = cols.map { name in fields.firstIndex { $0.field == name } ?? -1 }
    }

    /// Splits into cells (trimmed of blanks and of one pair of double quotes); returns their count.
    func splitCells(_ p: UnsafePointer<UInt8>, _ n: Int, separator: UInt8) -> Int {
        var cells = 0
        var i = 0
        while true {
            var start = i
            var end = i
            while start < n && Self.isBlank(p[start]) { start += 1 }
            if start < n && p[start] == UInt8(ascii: "\"") {
                // A quoted cell runs to the closing quote ("" is an escaped quote inside).
                var k = start + 1
                while k < n {
                    if p[k] == UInt8(ascii: "\"") {
                        if k + 1 < n && p[k + 1] == UInt8(ascii: "\"") { k += 2; continue }
                        break
                    }
                    k += 1
                }
                let closing = k
                var m = min(k + 1, n)
                while m < n && p[m] != separator { m += 1 }
                cellStart[cells] = start + 1
                cellEnd[cells] = max(start + 1, min(closing, n))
                cells += 1
                i = m
            } else {
                end = start
                while end < n && p[end] != separator { end += 1 }
                i = end
                var e = end
                while e > start && Self.isBlank(p[e - 1]) { e -= 1 }
                cellStart[cells] = start
                cellEnd[cells] = e
                cells += 1
            }
            if i >= n { break }
            i += 1  // past the separator
            if i == n {  // a trailing separator: one last, empty cell
                cellStart[cells] = n
                cellEnd[cells] = n
                cells += 1
                break
            }
        }
        return cells
    }

    func cell(_ p: UnsafePointer<UInt8>, _ k: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: p + cellStart[k], count: cellEnd[k] - cellStart[k])
    }

    /// A header: every cell a non-empty non-number, and at least one names a mapped field.
    func looksLikeHeader(_ p: UnsafePointer<UInt8>, cells: Int) -> Bool {
        var names = 0
        for k in 0..<cells {
            let c = cell(p, k)
            if c.isEmpty || numbers.parse(c) != nil { return false }
            if lookup(c) != nil { names += 1 }
        }
        return names > 0
    }

    func parseDelimited(_ line: UnsafeBufferPointer<UInt8>, separator: UInt8) -> LineKind {
        guard let p = line.baseAddress else { return .bad }
        let cells = splitCells(p, line.count, separator: separator)
        if looksLikeHeader(p, cells: cells) {
            if !fixedColumns {
                let names = (0..<cells).map { String(decoding: cell(p, $0), as: UTF8.self) }
                if names != columns {
                    adoptColumns(names)
                    for k in 0..<cells where columnMap[k] < 0 { unknown(cell(p, k)) }
                }
            }
            return .header
        }
        guard columns != nil else { return .bad }
        let expected = columnMap.count
        guard cells == expected || (cells == expected + 1 && cellStart[cells - 1] == cellEnd[cells - 1]) else {
            return .bad
        }
        for k in 0..<expected where columnMap[k] >= 0 {
            setNumber(field: columnMap[k], cell(p, k))
        }
        return usable > 0 ? .data : .bad
    }
}
