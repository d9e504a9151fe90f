import { describe, expect, it } from 'vitest';
import { commandHelp, loadCommands } from '../../../infra/local/cli/main.js';

describe('ekb-archive <command> --help', () => {
  it('lists every option of every command, with what it does', async () => {
    const commands = await loadCommands();
    expect(commands.map((c) => c.name)).toEqual(expect.arrayContaining(['copy', 'sync', 'job', 'resolve']));
    for (const command of commands) {
      const help = commandHelp(command);
      expect(help.startsWith(`Usage: ${command.usage}`)).toBe(true);
      for (const [flag, option] of Object.entries(command.options)) {
        expect(option.description, `${command.name} --${flag} has no description`).toEqual(
          expect.any(String),
        );
        const line = help
          .split('\n')
          .find((l) => l.includes(`--${flag}`) && l.includes(option.description ?? ''));
        expect(line, `${command.name} --help does not list --${flag}`).toBeDefined();
        if (option.short) expect(line).toContain(`-${option.short}, --${flag}`);
      }
    }
  });

  it('shows a value name for string options only', async () => {
    const copy = (await loadCommands()).find((c) => c.name === 'copy');
    const help = commandHelp(copy!);
    expect(help).toMatch(/^ {2}--bucket NAME {2,}the archive bucket/m);
    expect(help).toMatch(/^ {2}--dry-run {2,}print the object keys/m);
  });
});
