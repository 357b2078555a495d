#!/usr/bin/env python3
"""Checks every relative link in the Markdown docs: the file exists and, with #anchor, the heading does.

    scripts/check-doc-links.py [FILE.md ...]     default: README.md, docs/*.md and every README below
                                                 Sources/, boards/ and scripts/
Prints one line per broken link (FILE:LINE: target: why) and a count; exits 1 when any is broken.
Links that leave the repository are listed separately (they resolve only next to its checkout).
"""
import glob
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
LINK = re.compile(r"(?<!!)\[(?:[^\]`]|`[^`]*`)*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def lines_outside_code(path):
    fenced = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if not fenced:
                yield number, line


def anchors(path):
    seen = {}
    result = set()
    for _, line in lines_outside_code(path):
        m = HEADING.match(line)
        if m:
            base = slug(m.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            result.add(base if n == 0 else f"{base}-{n}")
    return result


def main(files):
    broken, outside, checked = [], [], 0
    for md in files:
        for number, line in lines_outside_code(md):
            for target in LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                    continue
                checked += 1
                where = f"{os.path.relpath(md, ROOT)}:{number}: {target}"
                path, _, anchor = target.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(md), path)) if path else md
                if not os.path.exists(dest):
                    broken.append(f"{where}: no such file")
                    continue
                if not (dest + os.sep).startswith(ROOT + os.sep):
                    outside.append(where)
                if anchor:
                    if not dest.endswith(".md"):
                        broken.append(f"{where}: anchor on a file that is not Markdown")
                    elif anchor not in anchors(dest):
                        broken.append(f"{where}: no heading with anchor #{anchor}")
    for b in broken:
        print(b)
    for o in outside:
        print(f"{o}: resolves outside the repository")
    print(f"{checked} links checked in {len(files)} files, {len(broken)} broken, {len(outside)} outside the repository")
    return 1 if broken else 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        chosen = [os.path.abspath(f) for f in sys.argv[1:]]
    else:
        chosen = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
        for folder in ("Sources", "boards", "scripts"):
            chosen += sorted(glob.glob(os.path.join(ROOT, folder, "**", "README.md"), recursive=True))
    sys.exit(main(chosen))
