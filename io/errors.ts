/**
 * The one error type for bad input: unreadable, corrupt or contract-violating files and arguments.
 *
 * Its message is a single line naming the file and the problem, fit to print as is; the CLI maps
 * it to exit code 2 and prints no stack trace unless `--debug`.
 */
export class PtychoInputError extends Error {
  /** The file (or argument) the problem was found in. */
  readonly file: string;
  /** The problem alone, without the file name. */
  readonly problem: string;

  /** Builds the error; `problem` is one line ("missing key 'probeGuess'"). */
  constructor(file: string, problem: string, options?: ErrorOptions) {
    const oneLine = problem.replace(/\s*\n\s*/g, " ");
    super(`${file}: ${oneLine}`, options);
    this.name = "PtychoInputError";
    this.file = file;
    this.problem = oneLine;
  }
}
