// The scale-out benchmark's tables: figures per server column (median (min–max) of rates, the
// median of CPU figures), notes where a figure could not be taken, and the ratio of two columns;
// rows in the order given, those without a figure or a note left out.
import { median } from "./report.ts";

export type Kind = "rate" | "cpu";

export class Table {
  readonly rows: { what: string; kind: Kind; cells: Map<string, number[]>; notes: Map<string, string> }[];
  constructor(
    readonly title: string,
    readonly columns: string[],
    readonly ratio: [string, string],
    rows: [string, Kind][],
  ) {
    this.rows = rows.map(([what, kind]) => ({ what, kind, cells: new Map(), notes: new Map() }));
  }
  private row(what: string) {
    const r = this.rows.find((x) => x.what === what);
    if (!r) throw new Error(`no row "${what}" in table "${this.title}"`);
    return r;
  }
  add(what: string, col: string, x: number): void {
    const r = this.row(what);
    r.cells.set(col, [...(r.cells.get(col) ?? []), x]);
  }
  note(what: string, col: string, text: string): void {
    this.row(what).notes.set(col, text);
  }
  render(): string {
    const cell = (r: Table["rows"][number], c: string) => {
      const xs = r.cells.get(c);
      if (!xs?.length) return r.notes.get(c) ?? "–";
      if (r.kind === "cpu") return median(xs).toFixed(2);
      return xs.length === 1 ? xs[0]!.toFixed(0) : `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
    };
    const ratio = (r: Table["rows"][number]) => {
      const [a, b] = this.ratio.map((c) => median(r.cells.get(c) ?? []));
      return a! >= 0.005 && b! >= 0.005 ? `${(a! / b!).toFixed(2)}×` : "–"; // not of figures shown as 0.00
    };
    const head = [...this.columns, `${this.ratio[0].split(" ")[0]} / ${this.ratio[1].split(" ")[0]}`];
    return [
      `### ${this.title}`,
      "",
      `| measure | ${head.join(" | ")} |`,
      `|---|${head.map(() => "---").join("|")}|`,
      ...this.rows
        .filter((r) => r.cells.size > 0 || r.notes.size > 0)
        .map((r) => `| ${r.what} | ${[...this.columns.map((c) => cell(r, c)), ratio(r)].join(" | ")} |`),
    ].join("\n");
  }
}
