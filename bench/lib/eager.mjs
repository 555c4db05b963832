// Which of a bundle's modules are evaluated when the Worker starts, from esbuild's metafile (what
// `wrangler deploy --dry-run --metafile` writes). esbuild keeps one output file, but a module reached
// only through `import()` is wrapped in a lazy initialiser and evaluated on first use; everything
// reachable from the entry point through static imports (and `require()` from those) runs at start-up.
// "Eager bytes" is the size those modules occupy in the output: the code a cold isolate evaluates
// before the first search (the search and chat paths import nothing else dynamically).

// `firstRequest` names modules that the entry imports dynamically on every request's path (the
// route modules, loaded by the first request rather than at start-up): they and their static
// imports count as evaluated before the first search too, and are reported apart as well.

/** @returns {{ eager: Map<string, number>, lazy: Map<string, number>, eagerBytes: number, lazyBytes: number, startupBytes: number, firstRequestBytes: number }} */
export function eagerModules(metafile, outputName, { firstRequest = [] } = {}) {
  const [outKey, output] =
    Object.entries(metafile.outputs).find(([k, o]) => (outputName ? k.endsWith(outputName) : o.entryPoint && !k.endsWith(".map"))) ?? [];
  if (!output) throw new Error("no entry output in the metafile");
  const entry = output.entryPoint;
  const closure = (roots, seen = new Set()) => {
    const queue = roots.filter((r) => !seen.has(r));
    for (const r of queue) seen.add(r);
    while (queue.length > 0) {
      const file = queue.shift();
      for (const imp of metafile.inputs[file]?.imports ?? []) {
        if (imp.external || imp.kind === "dynamic-import" || seen.has(imp.path)) continue;
        seen.add(imp.path);
        queue.push(imp.path);
      }
    }
    return seen;
  };
  const atStartup = closure([entry]);
  for (const r of firstRequest) if (!metafile.inputs[r]) throw new Error(`first-request module ${r} is not in the bundle`);
  const seen = closure(firstRequest, new Set(atStartup));
  const eager = new Map();
  const lazy = new Map();
  for (const [file, info] of Object.entries(output.inputs)) (seen.has(file) ? eager : lazy).set(file, info.bytesInOutput);
  const sum = (m) => [...m.values()].reduce((a, b) => a + b, 0);
  const startupBytes = [...eager].filter(([f]) => atStartup.has(f)).reduce((a, [, b]) => a + b, 0);
  return {
    output: outKey,
    eager,
    lazy,
    eagerBytes: sum(eager),
    lazyBytes: sum(lazy),
    startupBytes,
    firstRequestBytes: sum(eager) - startupBytes,
  };
}

/** Input path -> package name (or the first folders of a project path), for per-package totals. */
export function groupOf(file) {
  const nm = file.lastIndexOf("node_modules/");
  if (nm === -1) return file.split("/").slice(0, 3).join("/");
  const rest = file.slice(nm + "node_modules/".length).split("/");
  return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
}

export function byGroup(modules) {
  const groups = new Map();
  for (const [file, bytes] of modules) groups.set(groupOf(file), (groups.get(groupOf(file)) ?? 0) + bytes);
  return [...groups.entries()].sort((a, b) => b[1] - a[1]);
}
