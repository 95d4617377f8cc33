// The three binaries as users run them: bin/<name> → dist/<name>.js with plain node, from
// any folder and through a symlink on PATH; a stale build is rebuilt in a checkout that has
// the build tools and refused without them. Runs on a copy of the checkout, so the real
// dist/ is never touched.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT } from "../helpers/mcr-process.ts";

const BINARIES = ["mcr", "mcp-agent", "mcp"];
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: opts.cwd, env: opts.env ?? process.env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("bin/mcr, bin/mcp-agent, bin/mcp", () => {
  let tmp: string;
  let root: string;
  let onPath: NodeJS.ProcessEnv;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "binaries-"));
    root = join(tmp, "checkout");
    // What a build reads, with mtimes kept; node_modules is the real one.
    for (const p of ["bin", "lib", "registry", "agent", "console", "proto", "scripts", "package.json", "package-lock.json"]) {
      cpSync(join(REPO_ROOT, p), join(root, p), { recursive: true, preserveTimestamps: true });
    }
    symlinkSync(join(REPO_ROOT, "node_modules"), join(root, "node_modules"));
    const built = await run(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root });
    assert.equal(built.code, 0, built.stderr);
    // As `npm link` or a package manager would install them: symlinks in a folder on PATH.
    const linkDir = join(tmp, "path");
    mkdirSync(linkDir);
    for (const b of BINARIES) symlinkSync(join(root, "bin", b), join(linkDir, b));
    onPath = { ...process.env, PATH: `${linkDir}:${process.env.PATH}` };
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test("--version from another folder and through a symlink: plain node, nothing on stderr", async () => {
    for (const b of BINARIES) {
      const direct = await run(join(root, "bin", b), ["--version"], { cwd: "/" });
      assert.deepEqual(direct, { code: 0, stdout: `${VERSION}\n`, stderr: "" }, b);
      const linked = await run(b, ["--version"], { cwd: tmpdir(), env: onPath });
      assert.deepEqual(linked, { code: 0, stdout: `${VERSION}\n`, stderr: "" }, `${b} through a symlink`);
    }
  });

  test("a command that needs commander and the rest runs from another folder too", async () => {
    const r = await run("mcr", ["--help"], { cwd: "/", env: onPath });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: mcr/);
  });

  test("a source newer than the build: rebuilt (said on stderr), then run; stdout is only the command's", async () => {
    const now = new Date();
    utimesSync(join(root, "lib", "version.ts"), now, now);
    const r = await run(join(root, "bin", "mcp-agent"), ["--version"], { cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${VERSION}\n`);
    assert.match(r.stderr, /mcp-agent: lib\/version\.ts changed after the build: rebuilding/);
    const info = JSON.parse(readFileSync(join(root, "dist", "build.json"), "utf8")) as { builtAt: number };
    assert.ok(info.builtAt > Date.now() - 60_000, "dist/build.json was rewritten");
  });

  test("mcp's commands load without the TUI: its chunks are imported only by the commands that draw one", () => {
    const dist = join(root, "dist");
    const { files } = JSON.parse(readFileSync(join(dist, "build.json"), "utf8")) as { files: string[] };
    const main = files.find((f) => f === "mcp-main.js");
    assert.ok(main, `no mcp-main.js among ${files.join(" ")}`);
    /** The dist files `file` imports, statically or with import() too. */
    const closure = (file: string, dynamic: boolean, seen = new Set<string>()): Set<string> => {
      if (seen.has(file)) return seen;
      seen.add(file);
      const text = readFileSync(join(dist, file), "utf8");
      const re = dynamic ? /(?:from\s*|import\s*\(?\s*)"\.\/([^"]+\.js)"/g : /(?:from\s*|^import\s*)"\.\/([^"]+\.js)"/gm;
      for (const m of text.matchAll(re)) closure(m[1]!, dynamic, seen);
      return seen;
    };
    const hasInk = (set: Set<string>) => [...set].some((f) => readFileSync(join(dist, f), "utf8").includes("node_modules/ink/build/"));
    assert.deepEqual(closure("mcp.js", false), new Set(["mcp.js"]), "the entry (--version) imports nothing else at its start");
    const first = closure(main, false);
    assert.ok(first.size > 1, "the main chunk imports the chunks it shares with the TUI");
    assert.equal(hasInk(first), false, "a command's first load reaches Ink");
    assert.equal(hasInk(closure("mcp.js", true)), true, "the TUI's chunks are part of the build");
  });

  test("a rebuild keeps the last build's files (a console started before it still finds its chunks) and removes older ones", async () => {
    const dist = join(root, "dist");
    const filesNow = () => (JSON.parse(readFileSync(join(dist, "build.json"), "utf8")) as { files: string[] }).files;
    const rebuild = async (n: number) => {
      appendFileSync(join(root, "console", "tty", "tui.ts"), `// rebuild ${n}\n`); // a new TUI chunk
      const r = await run(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root });
      assert.equal(r.code, 0, r.stderr);
      return filesNow();
    };
    const first = filesNow();
    const second = await rebuild(1);
    const gone = first.filter((f) => !second.includes(f));
    assert.ok(
      gone.some((f) => /^mcp-tui-/.test(f)),
      `the TUI chunk was renamed: ${gone.join(" ")}`,
    );
    for (const f of [...first, ...second]) assert.ok(existsSync(join(dist, f)), `${f} is kept after one rebuild`);
    await rebuild(2);
    for (const f of gone) assert.equal(existsSync(join(dist, f)), false, `${f} is removed after two`);
    const r = await run(join(root, "bin", "mcp"), ["--help"], { cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
  });

  test("without the build tools a stale build is refused, naming the file and the fix", async () => {
    unlinkSync(join(root, "node_modules"));
    const now = new Date();
    utimesSync(join(root, "registry", "main.ts"), now, now);
    const r = await run(join(root, "bin", "mcr"), ["--version"], { cwd: "/" });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /mcr: the build in .*dist is out of date: registry\/main\.ts changed after the build/);
    assert.match(r.stderr, /run `npm run build` in /);
  });

  test("without a build and without the build tools: refused with the fix", async () => {
    rmSync(join(root, "dist"), { recursive: true });
    const r = await run(join(root, "bin", "mcp"), ["--version"], { cwd: "/" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /mcp: not built: run 'npm run build' in /);
  });
});
