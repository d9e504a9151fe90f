/** What a CLI command is: its flags, its arguments and what it runs (main.ts dispatches to these). */
import type { CliContext } from './context.js';

/** One flag: what parseArgs needs, plus what `<command> --help` shows for it. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** One line for the command's help. */
  description?: string;
  /** The value's name in the help (`--bucket NAME`); string options only. */
  valueName?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  /** parseArgs options besides the global ones, each listed by `<command> --help`. */
  options: Record<string, OptionSpec>;
  /** Positional arguments: names for the usage line and how many are required. */
  positionals: { min: number; max: number };
  /**
   * The command talks to 合思 and needs credentials (or --sandbox), checked before any work; a function when it
   * depends on the flags (`copy --dry-run` plans offline without them).
   */
  needsEkuaibao: boolean | ((args: ParsedArgs) => boolean);
  run(ctx: CliContext, args: ParsedArgs): Promise<number>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}
