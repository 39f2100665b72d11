import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { renderConfiguration } from '../../scripts/docs/configuration';
import { Anchors } from '../../scripts/docs/markdown';

// Every command shown in README.md and docs/*.md is run by a test or by its own npm script: each one shown is
// matched against RUNNERS, the runner must still hold the command (so the mapping cannot rot), and every
// `npm run X` must name a script of package.json. A command that needs an AWS account is accepted only when the
// docs mark it so (`# needs an AWS account` beside it), and only if it is one that cannot run offline.

const ROOT = path.resolve(__dirname, '../..');
const DOCS = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const AWS_MARK = '# needs an AWS account';

interface Shown {
  readonly command: string;
  readonly where: string;
  /** Marked in the docs as an example that needs an AWS account. */
  readonly needsAws: boolean;
}

/** The comment at the end of a shell line (a `#` after a space, outside quotes), if any, and the line without it. */
function splitComment(line: string): { command: string; comment: string } {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return { command: line.slice(0, i).trim(), comment: line.slice(i).trim() };
  }
  return { command: line.trim(), comment: '' };
}

/** The commands of one Markdown file: shell lines of sh/bash/shell/console blocks, and inline `npm …`/`npx …` code. */
function shownCommands(file: string, text: string): Shown[] {
  const out: Shown[] = [];
  const lines = text.split('\n');
  let fence: { lang: string; indent: string } | undefined;
  let pending = '';
  lines.forEach((raw, i) => {
    const where = `${file}:${i + 1}`;
    const open = /^(\s*)```(\w*)/.exec(raw);
    if (fence === undefined && open) {
      fence = { lang: open[2], indent: open[1] };
      return;
    }
    if (fence !== undefined && /^\s*```\s*$/.test(raw)) {
      fence = undefined;
      return;
    }
    if (fence !== undefined) {
      if (!['sh', 'bash', 'shell', 'console'].includes(fence.lang)) return;
      const line = raw.slice(fence.indent.length);
      const prompted = line.startsWith('$ ');
      // In a console block only the prompted lines are commands; the rest is their output.
      if (fence.lang === 'console' && !prompted && pending === '') return;
      const body = pending + (prompted ? line.slice(2) : pending === '' ? line : line.trimStart());
      if (body.trimEnd().endsWith('\\')) {
        pending = `${body.trimEnd().slice(0, -1).trimEnd()} `;
        return;
      }
      pending = '';
      const { command, comment } = splitComment(body);
      if (command !== '') out.push({ command, where, needsAws: comment.includes(AWS_MARK.slice(2)) });
      return;
    }
    for (const match of raw.matchAll(/(?<!`)`([^`]+)`(?!`)/g)) {
      const span = match[1];
      if (/^(npm run |npm |npx )/.test(span)) out.push({ command: span.trim(), where, needsAws: false });
    }
  });
  // `npm ci && npm run demo` is two commands, each run by its own runner.
  return out.flatMap((s) => s.command.split(/\s+&&\s+/).map((command) => ({ ...s, command })));
}

interface Runner {
  readonly command: RegExp;
  /** The test (or script) that runs the command. */
  readonly by: string;
  /** What `by` must contain: the call that runs this very command, with its subcommand and flags. */
  readonly shows: readonly string[];
}

const RUNNERS: readonly Runner[] = [
  { command: /^npm ci$/, by: 'package-lock.json', shows: ['"lockfileVersion"'] },
  { command: /^npm test$/, by: 'package.json', shows: ['"test": "npm run build && npm run lint && jest"'] },
  { command: /^npm run demo$/, by: 'test/e2e/demo-cli.test.ts', shows: ["demo(['--scenario', 'healthy'])"] },
  { command: /^npm run demo -- --scenario error-spike$/, by: 'test/e2e/demo-cli.test.ts', shows: ["demo(['--scenario', 'error-spike'"] },
  { command: /^npm run demo -- --scenario dry-run$/, by: 'test/e2e/demo-cli.test.ts', shows: ["demo(['--scenario', 'dry-run'"] },
  { command: /^npm run demo -- --router gateway-api$/, by: 'test/e2e/demo-gateway.test.ts', shows: ["demo(['--router', 'gateway-api'"] },
  { command: /^npm run demo -- --help$/, by: 'test/integration/demo-cli.test.ts', shows: ["demo(['--help'])"] },
  { command: /^npm run local$/, by: 'test/e2e/cli-session.test.ts', shows: ["spawnTsx('cli/local.ts'"] },
  { command: /^(alias canary=')?npm run --silent canary --'?$/, by: 'test/e2e/cli-session.test.ts', shows: ["spawnTsx('cli/main.ts'"] },
  { command: /^canary start --service demo-api --image 123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/demo-api:v\d$/, by: 'test/e2e/cli-session.test.ts', shows: ["canary(['start', '--service', 'demo-api', '--image', `${REPO}:v2`])"] },
  { command: /^canary abort [\w-]+ --reason "[^"]+"$/, by: 'test/e2e/cli-session.test.ts', shows: ["canary(['abort', second, '--reason', 'bad build'])"] },
  { command: /^canary history --rollbacks$/, by: 'test/e2e/cli-session.test.ts', shows: ["canary(['history', '--rollbacks'"] },
  { command: /^canary status [\w-]+$/, by: 'test/integration/cli-local.test.ts', shows: ["canary('status', runId)"] },
  { command: /^npm run docs$/, by: 'test/unit/docs.test.ts', shows: ['renderConfiguration()', "main(argv,"] },
  { command: /^npm run docs -- --check$/, by: 'test/integration/docs-commands.test.ts', shows: ["npm(['run', '--silent', 'docs', '--', '--check'"] },
  { command: /^npm run schema$/, by: 'scripts/execution-input-schema.ts', shows: ['executionInputJsonSchema()'] },
  { command: /^npm run bench:judge$/, by: 'test/unit/bench-judge-output.test.ts', shows: ["bench({ json: true, seed: 6"] },
  { command: /^npm run bench:judge -- --power-hold every-step$/, by: 'bench/judge/main.ts', shows: ["'--power-hold'", "'every-step'"] },
  { command: /^npm run bench:faults$/, by: 'bench/faults/main.ts', shows: ['runMatrix('] },
  { command: /^npm run bench:faults -- --markdown$/, by: 'bench/faults/main.ts', shows: ["'--markdown'", 'markdownTable('] },
  { command: /^npm run bench:transitions$/, by: 'bench/transitions.ts', shows: ['state transitions'] },
  { command: /^npm run bench:analyze$/, by: 'bench/analyze.ts', shows: ['npm run bench:analyze'] },
  { command: /^npm run bench:rollback$/, by: 'bench/rollback.ts', shows: ['npm run bench:rollback'] },
  { command: /^npm run bench:bundles$/, by: 'scripts/bundle-sizes.ts', shows: ['npm run bench:bundles'] },
];

/** Commands that cannot run offline here; the docs must mark each one, and may mark no other. */
const NEEDS_AWS: readonly RegExp[] = [/^npx cdk (bootstrap|deploy)\b/, /^aws /, /^export [A-Z_]+=\$\(aws /];

const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const shown = DOCS.flatMap((file) => shownCommands(file, read(file)));

/** The npm script a command runs (`npm run --silent canary --` → canary), if it runs one. */
function npmScript(command: string): string | undefined {
  const match = /(?:^|\s|')npm run (?:--?[\w-]+ )*([\w:-]+)/.exec(command);
  return match?.[1];
}

describe('the commands the docs show', () => {
  it('finds the quickstart and the commands of every doc', () => {
    const commands = shown.map((s) => s.command);
    expect(commands).toEqual(expect.arrayContaining(['npm ci', 'npm run demo', 'npm test', 'npm run docs', 'npm run bench:faults -- --markdown']));
    expect(shown.filter((s) => s.where.startsWith('README.md:')).map((s) => s.command).slice(0, 3)).toEqual(['npm ci', 'npm run demo', 'npm test']);
  });

  it.each(shown.filter((s) => !s.needsAws).map((s) => [s.command, s.where] as const))('%s (%s) is run by the test or script named for it', (command) => {
    const runner = RUNNERS.find((r) => r.command.test(command));
    if (runner === undefined) throw new Error(`no runner for \`${command}\`: add the test that runs it to RUNNERS in test/integration/docs-commands.test.ts, or mark it '${AWS_MARK}' if it needs an AWS account`);
    expect(NEEDS_AWS.some((p) => p.test(command))).toBe(false);
    expect(existsSync(path.join(ROOT, runner.by))).toBe(true);
    const text = read(runner.by);
    for (const piece of runner.shows) expect({ runner: runner.by, holds: piece, found: text.includes(piece) }).toEqual({ runner: runner.by, holds: piece, found: true });
    // A test of an npm script runs that script's entry file (or is it).
    const script = npmScript(command);
    const entry = script === undefined ? undefined : /^tsx (\S+)\.ts$/.exec(scripts[script] ?? '')?.[1];
    if (entry !== undefined && runner.by !== `${entry}.ts`) expect({ runner: runner.by, runs: entry, found: text.includes(entry) }).toEqual({ runner: runner.by, runs: entry, found: true });
  });

  it.each(shown.filter((s) => npmScript(s.command) !== undefined).map((s) => [s.command, s.where] as const))('%s (%s) names a script of package.json', (command) => {
    expect(Object.keys(scripts)).toContain(npmScript(command));
  });

  it('accepts an AWS-only command only where the docs mark it, and marks nothing that runs offline', () => {
    const unmarked = shown.filter((s) => !s.needsAws && NEEDS_AWS.some((p) => p.test(s.command)));
    const misMarked = shown.filter((s) => s.needsAws && !NEEDS_AWS.some((p) => p.test(s.command)));
    expect({ unmarked, misMarked }).toEqual({ unmarked: [], misMarked: [] });
    expect(shown.filter((s) => s.needsAws).map((s) => s.command)).toEqual(expect.arrayContaining(['npx cdk deploy -c servicesFile=my-services.json']));
  });

  it('uses every runner of the table, so that none is left behind', () => {
    const unused = RUNNERS.filter((r) => !shown.some((s) => r.command.test(s.command))).map((r) => String(r.command));
    expect(unused).toEqual([]);
  });
});

/** The anchors of a Markdown file's headings, as GitHub makes them (headings inside code blocks are not headings). */
function anchorsOf(text: string): Set<string> {
  const anchors = new Anchors();
  const out = new Set<string>();
  let inFence = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6} (.+)$/.exec(line);
    if (heading) out.add(anchors.next(heading[1]));
  }
  return out;
}

describe('the links of the docs', () => {
  // Outside code: a regex in a code span may look like a link.
  const prose = (text: string) => text.replace(/^\s*```[\s\S]*?^\s*```/gm, '').replace(/`[^`\n]*`/g, '');
  const links = DOCS.flatMap((file) =>
    [...prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => ({ file, target: m[1] })).filter((l) => !/^[a-z]+:/.test(l.target)),
  );

  it.each(links.map((l) => [l.target, l.file] as const))('%s (in %s) points at a file and heading that exist', (target, file) => {
    const [relative, anchor] = target.split('#');
    const resolved = relative === '' ? file : path.normalize(path.join(path.dirname(file), relative));
    expect({ target, exists: existsSync(path.join(ROOT, resolved)) }).toEqual({ target, exists: true });
    if (anchor !== undefined && resolved.endsWith('.md')) expect([...anchorsOf(read(resolved))]).toContain(anchor);
  });
});

describe('extracting commands', () => {
  it('reads prompted console lines, plain sh lines with continuations, marks and inline npm code', () => {
    const text = [
      'Run `npm run demo -- --json` or `canary status` (not a command).',
      '```console',
      '$ canary history --rollbacks',
      'date  version',
      '```',
      '```sh',
      'npm run local      # terminal 1',
      'npx cdk deploy \\',
      '  -c servicesFile=x.json   # needs an AWS account',
      '```',
      '```text',
      'npx cdk deploy',
      '```',
    ].join('\n');
    expect(shownCommands('x.md', text)).toEqual([
      { command: 'npm run demo -- --json', where: 'x.md:1', needsAws: false },
      { command: 'canary history --rollbacks', where: 'x.md:3', needsAws: false },
      { command: 'npm run local', where: 'x.md:7', needsAws: false },
      { command: 'npx cdk deploy -c servicesFile=x.json', where: 'x.md:9', needsAws: true },
    ]);
  });
});

describe('npm run docs -- --check', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'docs-check-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** npm as a user runs it, from the repository. */
  const npm = (args: readonly string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn('npm', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let [stdout, stderr] = ['', ''];
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('exits 1 and names the file when it is stale, 0 when it is current', async () => {
    // Prepare
    const { markdown } = renderConfiguration();
    const [stale, fresh] = [path.join(dir, 'stale.md'), path.join(dir, 'fresh.md')];
    writeFileSync(stale, markdown.replace('# Configuration reference', '# Configuration'));
    writeFileSync(fresh, markdown);
    // Act
    const [a, b] = await Promise.all([npm(['run', '--silent', 'docs', '--', '--check', '--file', stale]), npm(['run', '--silent', 'docs', '--', '--check', '--file', fresh])]);
    // Assess
    expect(a.code).toBe(1);
    expect(a.stderr).toContain(`${path.relative(ROOT, stale)} is stale: run \`npm run docs\` and commit the result`);
    expect(b).toMatchObject({ code: 0, stdout: `${path.relative(ROOT, fresh)} is up to date\n` });
  }, 60_000);
});
