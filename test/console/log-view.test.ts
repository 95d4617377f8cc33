// The logs screen's display lines: wrapping by display columns, pieces cut once per line and
// options, and anchors that hold a scrolled view while lines arrive below and leave above.
import assert from "node:assert/strict";
import { test } from "node:test";
import { anchorAt, displayIndexOf, displayLines, indexOfAnchor, wrapText } from "../../console/screens/log-view.ts";
import type { LogLine } from "../../console/store/types.ts";

const line = (seq: number, text: string, component = "api"): LogLine => ({ seq, line: text, component, stream: "stdout", node: "n1", service: "svc" });

test("wrapText cuts by display columns: ASCII by length, wide characters by their width", () => {
  assert.deepEqual(wrapText("abcdefghij", 4), ["abcd", "efgh", "ij"]);
  assert.deepEqual(wrapText("abcd", 4), ["abcd"]);
  assert.deepEqual(wrapText("", 4), [""]);
  assert.deepEqual(wrapText("abc", 0), ["abc"]);
  // Each CJK character takes two columns: two fit in 4, never half of one.
  assert.deepEqual(wrapText("日本語テキ", 4), ["日本", "語テ", "キ"]);
  assert.deepEqual(wrapText("a日本", 4), ["a日", "本"]);
  // Outside printable ASCII (here a one-column accented letter) the width is measured.
  assert.deepEqual(wrapText("é".repeat(5), 2), ["éé", "éé", "é"]);
});

test("displayLines: a line is cut once for the same options; other options cut it again", () => {
  const lines = [line(1, "x".repeat(25)), line(2, "short", "web")];
  const a = displayLines(lines, { width: 20, wrap: true, prefixed: true });
  assert.deepEqual(
    a.map((d) => [d.line.seq, d.prefix, d.text]),
    [
      [1, "api | ", "x".repeat(14)],
      [1, "      ", "x".repeat(11)],
      [2, "web | ", "short"],
    ],
  );
  const b = displayLines(lines.concat(line(3, "more")), { width: 20, wrap: true, prefixed: true });
  assert.equal(b[0], a[0], "the same piece objects for an unchanged line");
  assert.equal(b[2], a[2]);
  // Wrap off and on again: a line that fits is the same piece either way; only the long one is cut again.
  const off = displayLines(lines, { width: 20, wrap: false, prefixed: true });
  assert.equal(off[1], a[2]);
  assert.equal(off[0]!.text, "x".repeat(25));
  const on = displayLines(lines, { width: 20, wrap: true, prefixed: true });
  assert.equal(on[2], a[2]);
  assert.deepEqual(
    on.map((d) => d.text),
    a.map((d) => d.text),
  );
  const c = displayLines(lines, { width: 20, wrap: false, prefixed: false });
  assert.deepEqual(
    c.map((d) => [d.prefix, d.text]),
    [
      ["", "x".repeat(25)],
      ["", "short"],
    ],
  );
  // A longer component name widens every prefix.
  const d = displayLines(lines.concat(line(4, "z", "worker")), { width: 40, wrap: true, prefixed: true });
  assert.deepEqual(
    d.map((x) => x.prefix),
    ["api    | ", "web    | ", "worker | "],
  );
});

test("an anchor holds the view's top line while lines arrive below and old ones are dropped above", () => {
  const opts = { width: 16, wrap: true, prefixed: false };
  const lines = Array.from({ length: 10 }, (_, i) => line(i + 1, i === 4 ? "y".repeat(40) : `line ${i + 1}`));
  const shown = displayLines(lines, opts);
  const at = displayIndexOf(shown, 5) + 1; // the second piece of line 5
  const anchor = anchorAt(shown, at)!;
  assert.deepEqual(anchor, { seq: 5, piece: 1 });
  // Two lines dropped above, three arrive below: the same piece is at the top.
  const later = lines.slice(2).concat([11, 12, 13].map((n) => line(n, `line ${n}`)));
  const shownLater = displayLines(later, opts);
  const i = indexOfAnchor(shownLater, anchor);
  assert.equal(shownLater[i]!.line.seq, 5);
  assert.equal(shownLater[i]!.text, "y".repeat(16));
  assert.equal(i, 3, "two lines and one piece before it");
  // The anchored line itself dropped: the oldest kept line takes its place.
  const gone = later.slice(4);
  assert.equal(indexOfAnchor(displayLines(gone, opts), anchor), 0);
  // Past the end (everything dropped and nothing newer): the last display line.
  assert.equal(indexOfAnchor(displayLines([line(1, "a"), line(2, "b")], opts), anchor), 1);
  assert.equal(anchorAt(shown, 99), null);
});
