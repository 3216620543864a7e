// `npm run lint` runs this: no import cycles in src/ and agents/, type-only imports included (a
// type-level cycle is still a design cycle). Uses the TypeScript compiler that typechecks the code,
// so it resolves exactly what tsc resolves. Prints each cycle and exits 1 when there is one.
import path from "node:path";
import ts from "typescript";
import { ROOT } from "./lib/dev";

const config = ts.getParsedCommandLineOfConfigFile(
  path.join(ROOT, "tsconfig.json"),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  },
);
if (!config) throw new Error("tsconfig.json could not be read");

const inScope = (file: string) => /^(src|agents)\//.test(path.relative(ROOT, file)) && !file.endsWith(".d.ts");
const files = config.fileNames.filter(inScope);

/** file → the in-scope files it imports (static imports and re-exports, type-only included). */
const graph = new Map<string, string[]>();
for (const file of files) {
  const source = ts.createSourceFile(file, ts.sys.readFile(file) ?? "", ts.ScriptTarget.Latest, false);
  const targets: string[] = [];
  for (const statement of source.statements) {
    const specifier =
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier)
        ? statement.moduleSpecifier.text
        : undefined;
    if (!specifier?.startsWith(".")) continue;
    const resolved = ts.resolveModuleName(specifier, file, config.options, ts.sys).resolvedModule?.resolvedFileName;
    if (resolved && inScope(resolved)) targets.push(resolved);
  }
  graph.set(file, targets);
}

// Depth-first search with colours; each back edge closes a cycle.
const state = new Map<string, "open" | "done">();
const cycles: string[][] = [];
const stack: string[] = [];
function visit(file: string): void {
  state.set(file, "open");
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next]);
    else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(file, "done");
}
for (const file of graph.keys()) if (!state.has(file)) visit(file);

const rel = (f: string) => path.relative(ROOT, f);
if (cycles.length > 0) {
  for (const cycle of cycles) console.error(`import cycle: ${cycle.map(rel).join(" → ")}`);
  process.exit(1);
}
console.log(`no import cycles among ${graph.size} files in src/ and agents/`);
