// The layers the code keeps, checked by `npm test` (test/architecture/layers.test.ts):
// a wrong import fails CI. docs/architecture.md explains them.
const PROGRAMS = "^(registry|agent|console)/";
module.exports = {
  forbidden: [
    {
      name: "lib-imports-no-program",
      comment: "lib/ is shared by the three programs: it imports none of them (generated wire types in proto/ are shared too).",
      severity: "error",
      from: { path: "^lib/" },
      to: { path: PROGRAMS },
    },
    {
      name: "registry-imports-no-other-program",
      severity: "error",
      from: { path: "^registry/" },
      to: { path: "^(agent|console)/" },
    },
    {
      name: "agent-imports-no-other-program",
      severity: "error",
      from: { path: "^agent/" },
      to: { path: "^(registry|console)/" },
    },
    {
      name: "console-imports-no-other-program",
      severity: "error",
      from: { path: "^console/" },
      to: { path: "^(registry|agent)/" },
    },
    {
      name: "screens-and-commands-share-views-not-each-other",
      comment: "TUI screens and commands both build on console/views/; neither imports the other.",
      severity: "error",
      from: { path: "^console/(screens|tui|components)/" },
      to: { path: "^console/commands/" },
    },
    {
      name: "commands-import-no-screen",
      severity: "error",
      from: { path: "^console/commands/" },
      to: { path: "^console/(screens|tui|components)/" },
    },
    {
      name: "views-only-render",
      comment: "console/views/ turns state into tables: it imports no command, screen, client or store action.",
      severity: "error",
      from: { path: "^console/views/" },
      to: { path: "^console/(commands|screens|tui|clients|platform)/" },
    },
    {
      name: "registry-core-imports-no-http",
      comment: "The registry's core (database, storage, GC, policy, locks, audit) never imports its HTTP layers.",
      severity: "error",
      from: { path: "^registry/(db|storage|gc|policy|locks|audit)/" },
      to: { path: "^registry/(oci|server|admin|identity/http)" },
    },
    {
      name: "no-circular",
      comment: "No import circles, however small.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist|test|bench|scripts|proto/gen)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".tsx", ".js", ".mjs"] },
  },
};
