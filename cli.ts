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

/**
 * The commands by name, in the order usage lists them; each command's modules load only when it
 * runs (a train run does not parse the code of simulate, infer, refine, ...).
 */
const commands: Readonly<Record<string, () => Promise<Command>>> = {
  demo: async () => (await import("./cli/demo.ts")).demoCommand,
  simulate: async () => (await import("./cli/simulate.ts")).simulateCommand,
  train: async () => (await import("./cli/train.ts")).trainCommand,
  infer: async () => (await import("./cli/infer.ts")).inferCommand,
  refine: async () => (await import("./cli/refine.ts")).refineCommand,
  evaluate: async () => (await import("./cli/evaluate.ts")).evaluateCommand,
  inspect: async () => (await import("./cli/inspect.ts")).inspectCommand,
};

function usage(): string {
  return `usage: deno task <command> [flags]\ncommands: ${Object.keys(commands).join(", ")}\n` +
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
  if (name === undefined || !Object.hasOwn(commands, name)) {
    console.error(name === undefined ? usage() : `unknown command '${name}'\n${usage()}`);
    return 2;
  }
  const command = await commands[name]();
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
