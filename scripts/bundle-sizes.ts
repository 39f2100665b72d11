// Bundles every workflow handler exactly as CDK does (HANDLER_ESBUILD) and prints its size: `npm run bench:bundles`.
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { HANDLER_ESBUILD, REPO_ROOT, handlerEntry } from '../infra/handler-bundling';
import { WORKFLOW_HANDLERS } from '../lambdas/handlers/catalog';

interface BundleSize {
  readonly handler: string;
  readonly minified: number;
  readonly gzipped: number;
  readonly sourceMap: number;
  /** Bytes in the output per package (node_modules) or per source folder. */
  readonly inputs: ReadonlyMap<string, number>;
}

/** The package a bundled input belongs to (`zod`, `@smithy/core`), or its folder under the repo. */
function origin(input: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (pkg?.[1]) return pkg[1];
  return input.split('/').slice(0, 2).join('/');
}

/** Bundles one handler in memory with the construct's options. */
async function bundle(handler: string, file: string): Promise<BundleSize> {
  const outfile = path.join(REPO_ROOT, 'cdk.out', 'bundle-sizes', file, 'index.js');
  const result = await build({
    ...HANDLER_ESBUILD,
    external: [...HANDLER_ESBUILD.external],
    entryPoints: [handlerEntry(file)],
    bundle: true,
    outfile,
    write: false,
    metafile: true,
    logLevel: 'warning',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.js.map'));
  if (!js) throw new Error(`esbuild produced no JavaScript for ${file}`);
  return { handler, minified: js.contents.byteLength, gzipped: gzipSync(js.contents).byteLength, sourceMap: map?.contents.byteLength ?? 0, inputs: byOrigin(result.metafile) };
}

function byOrigin(metafile: Metafile): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const key = origin(input);
      sizes.set(key, (sizes.get(key) ?? 0) + bytesInOutput);
    }
  }
  return sizes;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const sizes = await Promise.all(WORKFLOW_HANDLERS.map((entry) => bundle(entry.id, entry.file)));
  const row = (name: string, minified: number, gzipped: number, map: number) => [name, String(minified), kb(minified), String(gzipped), kb(gzipped), kb(map)];
  const total = sizes.reduce((t, s) => ({ minified: t.minified + s.minified, gzipped: t.gzipped + s.gzipped, map: t.map + s.sourceMap }), { minified: 0, gzipped: 0, map: 0 });
  console.log(`Handlers bundled with HANDLER_ESBUILD (${HANDLER_ESBUILD.target}, ${HANDLER_ESBUILD.format}, minify, keepNames, external ${HANDLER_ESBUILD.external.join(' ')})\n`);
  console.log(
    table(
      ['handler', 'minified B', 'minified', 'gzipped B', 'gzipped', 'source map'],
      [...sizes.map((s) => row(s.handler, s.minified, s.gzipped, s.sourceMap)), row('total', total.minified, total.gzipped, total.map)],
    ),
  );

  // What the bytes are, for the largest handler: where to look when a bundle grows.
  const largest = sizes.reduce((a, b) => (b.minified > a.minified ? b : a));
  const top = [...largest.inputs.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
  console.log(`\nLargest inputs of ${largest.handler} (minified bytes in output):\n`);
  console.log(table(['input', 'bytes', 'share'], top.map(([name, bytes]) => [name, String(bytes), `${((100 * bytes) / largest.minified).toFixed(1)}%`])));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
