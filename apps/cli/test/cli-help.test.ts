// Help texts and usage errors (issue #11 item 5): every command's --help shows one or two examples that start with the
// command itself and use only its options; commander's own errors (unknown command or option, missing argument or
// required option) follow `error: <code>: <message>` with exit code 2, or the contract's error object with --json.
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { COMMAND_MODULES, commandNamed, registerCommands } from '../src/command-tree';
import { COMMAND_EXAMPLES, commandPath } from '../src/command-examples';
import type { CliContext } from '../src/cli-context';
import { runPkim } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';

/** the global options of main.ts, allowed in every example */
const GLOBAL_FLAGS = [
  '--data-dir',
  '--database-url',
  '--config',
  '--json',
  '--server',
  '--token',
  '--ca-file',
  '--local',
];

async function commandTree(): Promise<Command[]> {
  const program = new Command().name('pkim');
  // registration only builds the tree: no action runs, so the context is never used
  await registerCommands(program, {} as CliContext);
  const all: Command[] = [];
  const visit = (c: Command) => {
    for (const sub of c.commands) {
      all.push(sub);
      visit(sub);
    }
  };
  visit(program);
  return all;
}

/** the problems of one command's examples (empty: fine) */
function exampleProblems(command: Command, examples: string[] | undefined): string[] {
  const path = commandPath(command);
  if (!examples || examples.length < 1 || examples.length > 2) {
    return [`${path}: ${examples?.length ?? 0} examples (want one or two, in COMMAND_EXAMPLES)`];
  }
  const problems: string[] = [];
  const flags = new Set(GLOBAL_FLAGS);
  for (let c: Command | null = command; c; c = c.parent) for (const o of c.options) if (o.long) flags.add(o.long);
  for (const e of examples) {
    if (!e.startsWith(`pkim ${path}`) || !/^( |$)/.test(e.slice(`pkim ${path}`.length))) {
      problems.push(`${path}: example does not start with 'pkim ${path}': ${e}`);
    }
    for (const flag of e.match(/(?<=\s)--[a-z][a-z0-9-]*/g) ?? []) {
      if (!flags.has(flag)) problems.push(`${path}: example uses ${flag}, which the command has not: ${e}`);
    }
  }
  return problems;
}

describe('pkim --help examples', () => {
  it('every command without subcommands has one or two examples, of itself, with its own options', async () => {
    const tree = await commandTree();
    const leaves = tree.filter((c) => c.commands.length === 0);
    expect(leaves.length).toBeGreaterThan(100);
    const problems = leaves.flatMap((c) => exampleProblems(c, COMMAND_EXAMPLES[commandPath(c)]));
    expect(problems).toEqual([]);
  });

  it('every example belongs to a command that exists', async () => {
    const paths = new Set((await commandTree()).map(commandPath));
    expect(Object.keys(COMMAND_EXAMPLES).filter((p) => !paths.has(p))).toEqual([]);
  });

  it('positive control: a missing example, a foreign option and a wrong command are found', async () => {
    const tree = await commandTree();
    const caList = tree.find((c) => commandPath(c) === 'ca list')!;
    expect(exampleProblems(caList, undefined)).toEqual(['ca list: 0 examples (want one or two, in COMMAND_EXAMPLES)']);
    expect(exampleProblems(caList, ['pkim ca list --chain', 'pkim ca lister'])).toEqual([
      'ca list: example uses --chain, which the command has not: pkim ca list --chain',
      "ca list: example does not start with 'pkim ca list': pkim ca lister",
    ]);
    expect(exampleProblems(caList, ['pkim ca list', 'pkim ca list --json', 'pkim ca list'])).toHaveLength(1);
  });
});

/** every command under `root` with its description, arguments, options and help text: what `--help` shows */
function subtree(root: Command): string[] {
  const out: string[] = [];
  const visit = (c: Command) => {
    const options = c.options.map((o) => `${o.flags} ${o.description}`).join('; ');
    const args = c.registeredArguments.map((a) => a.name()).join(' ');
    out.push(`${commandPath(c)} <${args}> ${c.description()} [${options}] ${c.helpInformation()}`);
    for (const sub of c.commands) visit(sub);
  };
  visit(root);
  return out;
}

describe('the command modules (a command run registers only its own, start-up time)', () => {
  const ctx = {} as CliContext;

  it('each module adds exactly the top-level commands COMMAND_MODULES lists for it', async () => {
    for (const m of COMMAND_MODULES) {
      const program = new Command().name('pkim');
      (await m.load())(program, ctx);
      expect(program.commands.map((c) => c.name()).sort(), m.commands.join(',')).toEqual([...m.commands].sort());
    }
  });

  it('a command registered alone has the same subcommands, options and help as in the whole tree', async () => {
    const whole = new Command().name('pkim');
    await registerCommands(whole, ctx);
    for (const top of whole.commands) {
      const alone = new Command().name('pkim');
      await registerCommands(alone, ctx, ['--data-dir', 'd', top.name(), '--help']);
      const same = alone.commands.find((c) => c.name() === top.name());
      expect(same, top.name()).toBeDefined();
      expect(subtree(same!), top.name()).toEqual(subtree(top));
    }
    // positive control: cert without the lifecycle module (export, renew…) is not the whole tree's cert
    const certOnly = new Command().name('pkim');
    (await COMMAND_MODULES.find((m) => m.commands.join() === 'cert')!.load())(certOnly, ctx);
    expect(subtree(certOnly.commands[0]!)).not.toEqual(subtree(whole.commands.find((c) => c.name() === 'cert')!));
  });

  it('finds the command name after the global options and their values', () => {
    expect(commandNamed(['--data-dir', 'ca', '--json', 'cert', 'list'])).toBe('cert');
    expect(commandNamed(['--config=pkim.toml', '--local', 'ca', 'list'])).toBe('ca');
    expect(commandNamed(['--help'])).toBeUndefined();
  });
});

describe('pkim usage errors and --help through the compiled CLI', () => {
  const tmp = tempDir('pkim-cli-help-');
  const dataDir = join(tmp.dir, 'data');
  const pkim = (...args: string[]) => runPkim(args, { dataDir });
  beforeAll(() => {
    expect(pkim('init').code).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('--help shows the examples of the command', () => {
    const r = pkim('ca', 'create', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\nExamples:\n  $ pkim ca create --name root ');
    expect(pkim('cert', 'list', '--help').stdout).toContain('  $ pkim cert list --search example.com --wide');
  });

  it('unknown command, unknown option, missing argument, missing required option: one line, exit code 2', () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /^error: input\.invalid: unknown command 'frobnicate'/],
      [['ca', 'frobnicate'], /^error: input\.invalid: unknown command 'frobnicate'/],
      [['ca', 'list', '--bogus'], /^error: input\.invalid: unknown option '--bogus'/],
      [['cert', 'show'], /^error: input\.invalid: missing required argument 'ref'/],
      [['ca', 'create'], /^error: input\.invalid: required option '--subject <dn>' not specified/],
      [['cert', 'list', '--limit'], /^error: input\.invalid: option '--limit <n>' argument missing/],
      // commander's suggestion comes on a second line of its own: kept, on the one line
      [['user', 'enable', 'alice'], /^error: input\.invalid: unknown command 'enable' \(Did you mean disable\?\)/],
      [['ca', 'list', '--jsn'], /^error: input\.invalid: unknown option '--jsn' \(Did you mean --json\?\)/],
    ];
    for (const [args, form] of cases) {
      const r = pkim(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(form);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
  });

  it('with --json a usage error is the contract error object on stderr', () => {
    const r = pkim('ca', 'create', '--json');
    expect(r.code).toBe(2);
    const e = JSON.parse(r.stderr) as { error: { code: string; message: string } };
    expect(e.error.code).toBe('input.invalid');
    expect(e.error.message).toMatch(/^required option '--subject <dn>' not specified/);
  });

  it('--version prints the version', () => {
    const r = pkim('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
