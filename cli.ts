/**
 * The `ptycho` command line: `deno run cli.ts <command> [flags]` (see the tasks in deno.json).
 *
 * Bad input (PtychoInputError) and bad flags (UsageError) print one line and exit with code 2;
 * any other failure is an internal error (exit 1). `--debug` adds the stack trace.
 */
import { type Command, helpText, parseArgs, UsageError } from "./cli/args.ts";
import { PtychoInputError } from "./io/errors.ts";
import { setNativeInflate } from "./io/zip.ts";
import { zlibInflate } from "./io/zlib_inflate.ts";
import { demoCommand } from "./cli/demo.ts";
import { evaluateCommand } from "./cli/evaluate.ts";
import { inferCommand } from "./cli/infer.ts";
import { inspectCommand } from "./cli/inspect.ts";
import { refineCommand } from "./cli/refine.ts";
import { simulateCommand } from "./cli/simulate.ts";
import { trainCommand } from "./cli/train.ts";

const commands: readonly Command[] = [
  demoCommand,
  simulateCommand,
  trainCommand,
  inferCommand,
  refineCommand,
  evaluateCommand,
  inspectCommand,
];

function usage(): string {
  return `usage: deno task <command> [flags]\ncommands: ${
    commands.map((c) => c.name).join(", ")
  }\n` +
    `run 'deno task <command> --help' for a command's flags`;
}

/**
 * Run one command line; returns the process exit code. Zip members (`.npz` data, bundles) are
 * inflated by Node's native zlib here (io/zlib_inflate.ts), not by the library's portable code.
 */
export async function main(argv: readonly string[]): Promise<number> {
  setNativeInflate(zlibInflate);
  const [name, ...rest] = argv;
  const debug = rest.includes("--debug");
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    console.error(name === undefined ? usage() : `unknown command '${name}'\n${usage()}`);
    return 2;
  }
  try {
    const parsed = parseArgs(rest, command.flags);
    if (parsed.help) {
      console.log(helpText(command.usage, command.summary, command.flags));
      return 0;
    }
    for (const note of parsed.notes) console.error(note);
    await command.run(parsed);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${name}: ${e.message}\nrun 'deno task ${name} --help' for the flags`);
    } else if (e instanceof PtychoInputError) {
      console.error(`error: ${e.message}`);
    } else {
      console.error(`internal error: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (debug && e instanceof Error) console.error(e.stack);
    return e instanceof UsageError || e instanceof PtychoInputError ? 2 : 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
