// The layers hold by test: dependency-cruiser checks every import of the three programs and
// lib/ against .dependency-cruiser.cjs (lib imports no program; the agent, the registry and
// the console never import each other; screens and commands share views, not each other;
// the registry's core never imports its HTTP layers; no import circles). A wrong import
// fails here, naming the rule and the two files.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/mcr-process.ts";

const run = promisify(execFile);

test("no import breaks the layering rules", async () => {
  const out = await run(
    "npx",
    ["--no-install", "depcruise", "lib", "registry", "agent", "console", "--config", ".dependency-cruiser.cjs", "--output-type", "json"],
    { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 },
  ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }));
  const result = JSON.parse(out.stdout) as {
    summary: { violations: { rule: { name: string }; from: string; to: string; cycle?: { name: string }[] }[]; totalCruised: number };
  };
  assert.ok(result.summary.totalCruised > 200, `only ${result.summary.totalCruised} modules were checked`);
  const violations = result.summary.violations.map(
    (v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (${v.cycle.map((c) => c.name).join(" → ")})` : ""}`,
  );
  assert.deepEqual(violations, []);
});

test("the rules catch wrong imports (in a scratch tree laid out like this one)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "layers-"));
  try {
    const files: Record<string, string> = {
      "lib/shared.ts": 'import { a } from "../agent/a.ts";\nexport const s = a;\n',
      "agent/a.ts": "export const a = 1;\n",
      "console/screens/x.tsx": 'import { c } from "../commands/c.ts";\nexport const x = c;\n',
      "console/commands/c.ts": "export const c = 1;\n",
      "registry/gc/g.ts": 'import { h } from "../oci/h.ts";\nexport const g = h;\n',
      "registry/oci/h.ts": 'import { g } from "../gc/g.ts";\nexport const h = 1 + (g as number);\n',
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, dirname(name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    copyFileSync(join(REPO_ROOT, ".dependency-cruiser.cjs"), join(dir, ".dependency-cruiser.cjs"));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { allowImportingTsExtensions: true, noEmit: true, module: "NodeNext", moduleResolution: "NodeNext", jsx: "react-jsx" },
      }),
    );
    const depcruise = join(REPO_ROOT, "node_modules", ".bin", "depcruise");
    const out = await run(depcruise, ["lib", "agent", "console", "registry", "--config", ".dependency-cruiser.cjs", "--output-type", "json"], {
      cwd: dir,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }));
    const rules = new Set((JSON.parse(out.stdout) as { summary: { violations: { rule: { name: string } }[] } }).summary.violations.map((v) => v.rule.name));
    for (const rule of ["lib-imports-no-program", "screens-and-commands-share-views-not-each-other", "registry-core-imports-no-http", "no-circular"])
      assert.ok(rules.has(rule), `${rule} was not reported: ${[...rules].join(", ")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
