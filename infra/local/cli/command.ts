/** What a CLI command is: its flags, its arguments and what it runs (main.ts dispatches to these). */
import type { CliContext } from './context.js';

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  /** parseArgs options besides the global ones. */
  options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
  /** Positional arguments: names for the usage line and how many are required. */
  positionals: { min: number; max: number };
  needsEkuaibao: boolean;
  run(ctx: CliContext, args: ParsedArgs): Promise<number>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}
