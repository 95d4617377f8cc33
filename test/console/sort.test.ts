// The TUI's table sorting (console/views/sort.ts): numbers by value, unknown values last
// either way, ties in the screen's order, the keys (a letter, again reversed; < and >
// wrapping; I), and the header's mark.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { columnLayout, headerText, plainTable } from "../../console/output/screen.ts";
import { byAge, byNumber, byText, byTime, nextSort, sortHelp, sortKeys, sortRows, type SortColumn } from "../../console/views/sort.ts";

interface Row {
  name: string;
  cpu: number | null;
  mem: number | null;
  version: string;
  startedAt: string;
  pushed: string;
}

const row = (name: string, cpu: number | null, mem: number | null, version = "v1", startedAt = "", pushed = ""): Row => ({
  name,
  cpu,
  mem,
  version,
  startedAt,
  pushed,
});

const COLUMNS: SortColumn<Row>[] = [
  byText("name", (r) => r.name, "N"),
  byNumber("cpu", (r) => r.cpu, "C"),
  byNumber("mem", (r) => r.mem, "M"),
  byText("version", (r) => r.version),
  byAge("uptime", (r) => r.startedAt, "A"),
  byTime("pushed", (r) => r.pushed),
];

const names = (rows: Row[]) => rows.map((r) => r.name).join(" ");

describe("sortRows", () => {
  const rows = [row("b", 9.5, 2048), row("a", 10.2, 100), row("c", null, null), row("d", 100, 1024 * 1024)];

  test("no sort, or a column it does not have: the rows as they are (a copy)", () => {
    const same = sortRows(rows, COLUMNS, null);
    assert.equal(names(same), "b a c d");
    assert.notEqual(same, rows);
    assert.equal(names(sortRows(rows, COLUMNS, { column: "nope", desc: false })), "b a c d");
  });

  test("numbers by their value, not their text (100 after 10.2 after 9.5); unknown last both ways", () => {
    assert.equal(names(sortRows(rows, COLUMNS, { column: "cpu", desc: false })), "b a d c");
    assert.equal(names(sortRows(rows, COLUMNS, { column: "cpu", desc: true })), "d a b c");
    assert.equal(names(sortRows(rows, COLUMNS, { column: "mem", desc: true })), "d b a c");
    assert.equal(names(sortRows(rows, COLUMNS, { column: "name", desc: true })), "d c b a");
  });

  test("text with numbers in it in their order (v9 before v10); ties keep the screen's order", () => {
    const vs = [row("x", 1, 1, "v10"), row("y", 1, 1, "v9"), row("z", 1, 1, "v9"), row("w", 1, 1, "")];
    assert.equal(names(sortRows(vs, COLUMNS, { column: "version", desc: false })), "y z x w");
    assert.equal(names(sortRows(vs, COLUMNS, { column: "version", desc: true })), "x y z w");
    assert.equal(names(sortRows(vs, COLUMNS, { column: "cpu", desc: true })), "x y z w");
  });

  test("ages: the youngest first; times: by their instant, whatever their precision", () => {
    const t = [
      row("old", 0, 0, "v1", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00.5Z"),
      row("new", 0, 0, "v1", "2026-01-03T00:00:00.123Z", "2026-01-02T00:00:00Z"),
      row("stopped", 0, 0, "v1", "", ""),
    ];
    assert.equal(names(sortRows(t, COLUMNS, { column: "uptime", desc: false })), "new old stopped");
    assert.equal(names(sortRows(t, COLUMNS, { column: "uptime", desc: true })), "old new stopped");
    assert.equal(names(sortRows(t, COLUMNS, { column: "pushed", desc: true })), "old new stopped");
  });
});

describe("nextSort", () => {
  test("a letter sorts by its column (numbers and times the largest first); the same letter again reverses", () => {
    assert.deepEqual(nextSort(COLUMNS, null, "N"), { column: "name", desc: false });
    assert.deepEqual(nextSort(COLUMNS, { column: "name", desc: false }, "N"), { column: "name", desc: true });
    assert.deepEqual(nextSort(COLUMNS, { column: "name", desc: true }, "N"), { column: "name", desc: false });
    assert.deepEqual(nextSort(COLUMNS, { column: "name", desc: true }, "C"), { column: "cpu", desc: true });
    assert.deepEqual(nextSort(COLUMNS, null, "A"), { column: "uptime", desc: false });
  });

  test("< and > move the column, wrapping; I inverts; other keys are not sort keys", () => {
    assert.deepEqual(nextSort(COLUMNS, null, ">"), { column: "name", desc: false });
    assert.deepEqual(nextSort(COLUMNS, null, "<"), { column: "pushed", desc: true });
    assert.deepEqual(nextSort(COLUMNS, { column: "cpu", desc: false }, ">"), { column: "mem", desc: true });
    assert.deepEqual(nextSort(COLUMNS, { column: "name", desc: false }, "<"), { column: "pushed", desc: true });
    assert.deepEqual(nextSort(COLUMNS, { column: "pushed", desc: true }, ">"), { column: "name", desc: false });
    assert.deepEqual(nextSort(COLUMNS, { column: "version", desc: false }, "I"), { column: "version", desc: true });
    assert.equal(nextSort(COLUMNS, null, "I"), "unsorted");
    for (const k of ["n", "c", "S", "G", "j", "/", ""]) assert.equal(nextSort(COLUMNS, null, k), null, k);
  });

  test("the footer's and help's words", () => {
    assert.equal(sortKeys(COLUMNS), "N/C/M/A < > sort");
    assert.equal(sortHelp(COLUMNS), "N name  C cpu  M mem  A uptime");
  });
});

describe("the header's mark", () => {
  const section = { columns: ["name", "cpu"], rows: [[{ text: "api" }, { text: "3.2%" }]] };

  test("▲ ascending, ▼ descending, on the sort column only; the width makes room for it", () => {
    assert.deepEqual([headerText(section, 0), headerText(section, 1)], ["NAME", "CPU"]);
    const up = { ...section, sort: { column: "cpu", desc: false } };
    const down = { ...section, sort: { column: "name", desc: true } };
    assert.deepEqual([headerText(up, 0), headerText(up, 1)], ["NAME", "CPU▲"]);
    assert.deepEqual([headerText(down, 0), headerText(down, 1)], ["NAME▼", "CPU"]);
    assert.deepEqual(columnLayout(up).widths, [4, 4]);
    assert.equal(plainTable(down), "NAME▼  CPU\napi    3.2%");
  });
});
