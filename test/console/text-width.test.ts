// Terminal width of cell text: ASCII by its length, anything else as string-width measures it.
import assert from "node:assert/strict";
import { test } from "node:test";
import stringWidth from "string-width";
import { textWidth } from "../../console/output/width.ts";
import { plainTable } from "../../console/output/screen.ts";

test("ASCII is its length; wide, combining and emoji text is measured as string-width does", () => {
  for (const s of ["", "hello", "n1/hello-n1/running", "  spaced  ~!"]) assert.equal(textWidth(s), s.length);
  for (const s of ["日本語", "café", "e\u0301", "🙂 ok", "tab\there", "\u001b[31mred\u001b[0m"]) assert.equal(textWidth(s), stringWidth(s), JSON.stringify(s));
  assert.equal(textWidth("日本語"), 6);
});

test("a table with wide text still lines up", () => {
  const out = plainTable({
    columns: ["name", "state"],
    rows: [
      [{ text: "日本" }, { text: "ok" }],
      [{ text: "ab" }, { text: "ok" }],
    ],
  });
  const lines = out.trimEnd().split("\n");
  assert.equal(lines.length, 3);
  const column = (line: string) => stringWidth(line.slice(0, line.indexOf("ok")));
  assert.equal(column(lines[1]!), column(lines[2]!), out);
});
