/**
 * The README's commands, run as a reader pastes them: every ```sh block is marked with what it needs
 * (`<!-- readme: … -->` on the line before), and the ones that need nothing but this checkout after `npm ci` and a
 * running `npm start` — `cli` and `stack` — run here with bash, in the checkout, and must succeed. The one change
 * made to them: the stack runs on free ports, so 4580 and 4569 become the ports it got. `setup` blocks are
 * `npm ci`, `npm start` and `npm test` themselves (covered by their own tests); `your values` blocks need the
 * reader's tenant, bucket or AWS account.
 */
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, PROJECT_ROOT, runCaptured } from './run-cli.js';
import { type RunningStack, startStack } from './start-stack.js';

interface Block {
  kind: string;
  line: number;
  text: string;
}

async function readmeBlocks(): Promise<Block[]> {
  const lines = (await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8')).split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i] !== '```sh') continue;
    const marker = /^<!-- readme: ([a-z ]+?)(?: \(.*\))? -->$/.exec(lines[i - 1] ?? '');
    const end = lines.indexOf('```', i + 1);
    blocks.push({ kind: marker?.[1] ?? 'unmarked', line: i + 1, text: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

function bash(script: string): Promise<CliRun> {
  return runCaptured('bash', ['-e', '-o', 'pipefail', '-c', script], { timeoutMs: 90_000 });
}

describe('the README’s shell commands', () => {
  let blocks: Block[];
  let stack: RunningStack;
  let dataDir: string;
  let hadDemoManifest = false;
  const demoManifest = join(PROJECT_ROOT, 'demo.jsonl');

  beforeAll(async () => {
    blocks = await readmeBlocks();
    hadDemoManifest = await access(demoManifest).then(
      () => true,
      () => false,
    );
    dataDir = await mkdtemp(join(tmpdir(), 'ekb-readme-'));
    stack = await startStack(dataDir);
  });
  afterAll(async () => {
    if (stack && stack.proc.exitCode === null) {
      stack.proc.kill('SIGINT');
      await stack.exited;
    }
    await rm(dataDir, { recursive: true, force: true });
    // The README writes its demo manifest into the checkout (git ignores it); leave the checkout as it was.
    if (!hadDemoManifest) await rm(demoManifest, { force: true });
  });

  const onStackPorts = (text: string): string =>
    text
      .replaceAll('http://127.0.0.1:4580', stack.apiUrl)
      .replaceAll('http://127.0.0.1:4569', stack.s3Endpoint as string);

  it('marks every sh block with what it needs', () => {
    expect(blocks.filter((b) => b.kind === 'unmarked').map((b) => `README.md:${b.line}`)).toEqual([]);
    const kinds = new Set(blocks.map((b) => b.kind));
    expect([...kinds].sort()).toEqual(['cli', 'setup', 'stack', 'vendor page', 'your values']);
  });

  it('runs the CLI blocks as written: help, a dry run without credentials, a job and a form package into the running stack', async () => {
    const cli = blocks.filter((b) => b.kind === 'cli');
    expect(cli.length).toBeGreaterThan(0);
    for (const block of cli) {
      const run = await bash(onStackPorts(block.text));
      expect(run, `README.md:${block.line}\n${run.stderr}`).toMatchObject({ code: 0 });
      expect(run.stdout).toMatch(/^Usage: ekb-archive copy /m);
      expect(run.stdout).toMatch(/^would write {2}attachments\/MmF7bOrK5hNz00\//m);
      expect(run.stdout).toMatch(/^copy: OK: 21 refs, 21 copied/m);
      expect(run.stdout).toMatch(/^job demo-1: done$/m);
      // A demo form archived whole into the same store (0 refs if the stack's own sync sealed it first).
      expect(run.stdout).toMatch(/^archive-forms: OK: \d+ refs, \d+ copied .*, 0 failed/m);
      expect(run.stdout).toMatch(/^verify: OK: 21 checked, 21 ok, 0 changed, 0 missing, 0 unrecorded/m);
    }
  });

  it('runs the vendor page’s two examples as written: both files resolved, the DP: one downloaded with its headers', async () => {
    const vendor = blocks.filter((b) => b.kind === 'vendor page');
    expect(vendor.length).toBeGreaterThanOrEqual(1);
    const written = ['answer.json', '128163bbba83.jpg'].map((name) => join(PROJECT_ROOT, name));
    for (const block of vendor) {
      try {
        const run = await bash(onStackPorts(block.text));
        expect(run, `README.md:${block.line}\n${run.stderr}`).toMatchObject({ code: 0 });
        const answer = JSON.parse(await readFile(written[0] as string, 'utf8')) as Array<{ id: string }>;
        expect(answer.map((i) => i.id).sort()).toEqual(['136634573449', '61sbwX3DEAgk00']);
        expect((await readFile(written[1] as string)).length).toBe(2_985_928);
      } finally {
        await Promise.all(written.map((path) => rm(path, { force: true })));
      }
    }
  });

  it('runs the blocks against a running npm start as written', async () => {
    const stackBlocks = blocks.filter((b) => b.kind === 'stack');
    expect(stackBlocks.length).toBeGreaterThanOrEqual(2);
    const outputs: string[] = [];
    for (const block of stackBlocks) {
      const run = await bash(onStackPorts(block.text));
      expect(run, `README.md:${block.line}\n${run.stderr}`).toMatchObject({ code: 0, stderr: '' });
      outputs.push(run.stdout);
    }
    const all = outputs.join('\n');
    // The resolve answer carries a URL and the fields the README lists; the job answers 202 and then its status.
    expect(all).toMatch(/"url":"http:\/\/127\.0\.0\.1:\d+\/oss\/MmF7bOrK5hNz00\//);
    expect(all).toMatch(/"fileName":"差旅报销说明\.pdf","fileType":"pdf"/);
    expect(all).toMatch(/"deadLetterQueue": \[\]/);
    expect(all).toMatch(/"jobId":"\d{8}T\d{6}Z-[0-9a-f]+","refs":1,"batches":1/);
    expect(all).toMatch(/"state":"(running|done)"/);
    // POST /form-archives answers with its job's status path, which the block then reads.
    expect(all).toMatch(/"codes":\["B26000002"\]/);
    expect(all).toMatch(/"status":"\/copy-jobs\/\d{8}T\d{6}Z-[0-9a-f]+"/);
    expect(all).toMatch(/"source":\{"kind":"form-archives"/);
    // The job's file index (JSON lines, then CSV) and a verify run over the prefix the jobs wrote.
    expect(all).toMatch(/^\{"objectKey":"attachments\/MmF7bOrK5hNz00\/[^"]+",.*"sha256":"[0-9a-f]{64}"/m);
    expect(all).toMatch(/^objectKey,/m);
    expect(all).toMatch(/"state":"ok"/);
    expect(all).not.toMatch(/"state":"differs"/);
  });
});
