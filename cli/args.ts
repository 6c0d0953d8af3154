/**
 * Declarative command-line flags: each command lists its flags once (name, type, default, one-line
 * help) and gets parsing, `--help` text and one-line usage errors from here.
 *
 * Spellings: `--max_epochs 3`, `--max-epochs=3` and `--max_epochs=3` are the same flag; booleans
 * take `--flag`, `--no-flag`, `--flag true|false`. Unknown flags and bad values are errors.
 */

/** A usage problem (unknown flag, bad value); the CLI prints it with the help hint, exit 2. */
export class UsageError extends Error {
  /** Builds the error from a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One flag of a command. */
export interface FlagSpec {
  /** Canonical name with underscores or dashes, e.g. "train_data_file" or "learning-rate". */
  name: string;
  /** Value type. */
  type: "string" | "number" | "int" | "boolean" | "choice";
  /** One-line meaning. */
  help: string;
  /** Default value (omitted = no default: undefined unless given). */
  default?: string | number | boolean;
  /** Allowed values for "choice"; `aliases` maps extra spellings to one of them. */
  choices?: readonly string[];
  /** Extra spellings of choice values, e.g. { gpu: "webgpu" }. */
  aliases?: Readonly<Record<string, string>>;
  /** Must be given. */
  required?: boolean;
  /** Accepted but deprecated: this note is printed once when the flag is used. */
  deprecated?: string;
  /** Hide from --help (still accepted). */
  hidden?: boolean;
}

/** Parsed values keyed by canonical name in snake_case (dashes become underscores). */
export type ParsedFlags = Record<string, string | number | boolean | undefined>;

/** A parsed command line: flag values, positional arguments, and deprecation notes to print. */
export interface ParsedArgs {
  /** Flag values (defaults filled in) by snake_case name. */
  flags: ParsedFlags;
  /** Arguments that are not flags, in order. */
  positional: string[];
  /** Deprecation notes to print once. */
  notes: string[];
  /** `--help` or `-h` was given. */
  help: boolean;
}

/** Canonical key: lower case, dashes → underscores. */
export function flagKey(name: string): string {
  return name.replace(/-/g, "_");
}

function convert(spec: FlagSpec, raw: string): string | number | boolean {
  const where = `--${spec.name}`;
  switch (spec.type) {
    case "string":
      return raw;
    case "number": {
      const v = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(v)) {
        throw new UsageError(`${where} needs a number, got '${raw}'`);
      }
      return v;
    }
    case "int": {
      const v = Number(raw);
      if (!Number.isInteger(v)) throw new UsageError(`${where} needs a whole number, got '${raw}'`);
      return v;
    }
    case "boolean": {
      const v = raw.toLowerCase();
      if (["true", "1", "yes", "on"].includes(v)) return true;
      if (["false", "0", "no", "off"].includes(v)) return false;
      throw new UsageError(`${where} needs true or false, got '${raw}'`);
    }
    case "choice": {
      const v = spec.aliases?.[raw] ?? raw;
      if (!spec.choices?.includes(v)) {
        throw new UsageError(`${where} must be one of ${spec.choices?.join(", ")}; got '${raw}'`);
      }
      return v;
    }
  }
}

/** Parse `argv` against `specs`. Throws UsageError with a one-line message. */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byKey = new Map(specs.map((s) => [flagKey(s.name), s]));
  const flags: ParsedFlags = {};
  const positional: string[] = [];
  const notes: string[] = [];
  let help = false;
  for (const s of specs) flags[flagKey(s.name)] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (!arg.startsWith("--") || arg === "--") {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    let name = flagKey(arg.slice(2, eq === -1 ? undefined : eq));
    let inline: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    let spec = byKey.get(name);
    if (
      spec === undefined && name.startsWith("no_") && byKey.get(name.slice(3))?.type === "boolean"
    ) {
      if (inline !== undefined) throw new UsageError(`--${arg.slice(2, eq)} takes no value`);
      spec = byKey.get(name.slice(3))!;
      name = name.slice(3);
      inline = "false";
    }
    if (spec === undefined) {
      throw new UsageError(`unknown flag ${arg.slice(0, eq === -1 ? undefined : eq)}`);
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      if (spec.type === "boolean") {
        const isBool = next !== undefined && /^(true|false|1|0|yes|no|on|off)$/i.test(next);
        raw = isBool ? argv[++i] : "true";
      } else {
        if (next === undefined || (next.startsWith("--") && next.length > 2)) {
          throw new UsageError(`--${spec.name} needs a value`);
        }
        raw = argv[++i];
      }
    }
    flags[name] = convert(spec, raw);
    if (spec.deprecated) notes.push(`note: --${spec.name} is deprecated; ${spec.deprecated}`);
  }
  if (!help) {
    for (const s of specs) {
      if (s.required && flags[flagKey(s.name)] === undefined) {
        throw new UsageError(`--${s.name} is required (${s.help})`);
      }
    }
  }
  return { flags, positional, notes, help };
}

/** `--help` text: usage line, then each visible flag with its default and meaning. */
export function helpText(usage: string, summary: string, specs: readonly FlagSpec[]): string {
  const rows = specs.filter((s) => !s.hidden).map((s) => {
    const value = s.type === "boolean"
      ? ""
      : s.type === "choice"
      ? ` {${s.choices!.join(",")}}`
      : ` <${s.type}>`;
    const dflt = s.required
      ? " (required)"
      : s.default === undefined
      ? ""
      : ` (default: ${s.default})`;
    return [`  --${s.name}${value}`, `${s.help}${dflt}`];
  });
  const width = Math.min(44, Math.max(...rows.map((r) => r[0].length)) + 2);
  const lines = rows.map((
    [l, r],
  ) => (l.length >= width ? `${l}\n${" ".repeat(width)}${r}` : l.padEnd(width) + r));
  return `usage: ${usage}\n\n${summary}\n\nflags (dashes and underscores are interchangeable):\n${
    lines.join("\n")
  }\n  --help, -h${" ".repeat(Math.max(1, width - 12))}show this help\n`;
}

/** A subcommand of the `ptycho` CLI. */
export interface Command {
  /** Subcommand name, e.g. "train". */
  name: string;
  /** Usage line after "deno task ", e.g. "train --train_data_file F --output_dir D [flags]". */
  usage: string;
  /** One paragraph: what the command does. */
  summary: string;
  /** Every flag (include a `debug` boolean flag). */
  flags: readonly FlagSpec[];
  /** Run with parsed flags; throw PtychoInputError / UsageError for bad input. */
  run(args: ParsedArgs): Promise<void>;
}
