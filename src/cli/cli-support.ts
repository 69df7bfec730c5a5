/**
 * What every command shares: the process streams (injectable, so main can run in-process), the
 * two error kinds that decide the exit code, strict argument parsing and careful file IO.
 */
import { parseRedisTarget } from "../adapters/redis/redis-connection.js";
import { decodeMasterKey } from "../relay/key-ring-seal.js";
import type { SecretBytes } from "../protocol/secret-bytes.js";
import { chmod, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { basename, isAbsolute, relative } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ShroudError } from "../protocol/errors.js";

/** The streams and environment a command may touch. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** The real process. */
export const processIo: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
};

/** Bad arguments or usage: exit code 2. */
export class UsageError extends ShroudError {
  constructor(message: string) {
    super("usage", message);
  }
}

/** A runtime failure the user can act on (missing file, file exists): exit code 1. */
export class CliError extends ShroudError {
  constructor(message: string) {
    super("cli", message);
  }
}

/**
 * Prints a command's failure as one "shroud: ..." line and returns its exit code: 2 for bad
 * arguments, 1 for anything else (with the stack under SHROUD_DEBUG for unexpected errors).
 *
 * @example
 * try { return await run(); } catch (error) { return reportFailure(error, io); }
 */
export async function reportFailure(error: unknown, io: CliIo): Promise<number> {
  if (error instanceof UsageError) {
    await line(io.stderr, `shroud: ${error.message}`);
    return 2;
  }
  if (error instanceof ShroudError) {
    await line(io.stderr, `shroud: ${error.message}`);
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  await line(io.stderr, `shroud: unexpected error: ${message}`);
  if (io.env["SHROUD_DEBUG"] && error instanceof Error && error.stack) {
    await line(io.stderr, error.stack);
  }
  return 1;
}

/** Writes to a stream and waits until it is handed off, so output is never lost at exit. */
export function write(stream: NodeJS.WritableStream, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

/** Writes one line. */
export function line(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return write(stream, `${text}\n`);
}

type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;
type ParsedValues<T extends OptionSpecs> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>
>["values"];

/**
 * parseArgs in strict mode without positionals; errors become one-line UsageErrors that point
 * at the command's help.
 */
export function parseOptions<T extends OptionSpecs>(
  args: string[],
  options: T,
  command: string,
): ParsedValues<T> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw toUsageError(error, command);
  }
}

type PositionalValues<T extends OptionSpecs> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>
>["values"];

/** Like parseOptions, but also returns positional arguments (in order) for subcommands. */
export function parseWithPositionals<T extends OptionSpecs>(
  args: string[],
  options: T,
  command: string,
): { values: PositionalValues<T>; positionals: string[] } {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw toUsageError(error, command);
  }
}

function toUsageError(error: unknown, command: string): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
    // Node's messages run on with advice about "--"; the first sentence is the useful part.
    const first = (error as Error).message.split(/\.\s|\n/)[0]?.replace(/\.$/, "");
    return new UsageError(
      `${lowerFirst(first || "invalid arguments")} (see \`shroud ${command} --help\`)`,
    );
  }
  return error;
}

/**
 * A Redis location given on the command line or in REDIS_URL (`name` says which), checked as
 * `parseRedisTarget` reads it; a UsageError names the flag and never repeats the text, which may
 * hold a password.
 */
export function redisUrlArgument(text: string, name: string): string {
  try {
    parseRedisTarget(text);
  } catch (error) {
    throw new UsageError(`${name} ${(error as Error).message}`);
  }
  return text;
}

/**
 * A whole number from `min` to `max` given as a flag or variable (`name` says which), or a
 * UsageError naming it.
 *
 * @example const port = integerArgument("8787", "--port", 0, 65535);
 */
export function integerArgument(text: string, name: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/**
 * A relay origin given on the command line (a peer, an ingress relay): http or https, no
 * credentials, path, query or fragment. Returns it normalised (scheme://host[:port]).
 */
export function originArgument(text: string, name: string): string {
  const url = URL.canParse(text.trim()) ? new URL(text.trim()) : undefined;
  if (
    !url ||
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.username !== "" ||
    url.password !== "" ||
    url.pathname !== "/" ||
    url.search !== "" ||
    url.hash !== ""
  ) {
    const got = JSON.stringify(text);
    // "127.0.0.1:8787" parses as no URL at all and "localhost:8787" as scheme "localhost:";
    // both are a host and port missing their scheme, so say what to type.
    const bare =
      /^[A-Za-z0-9.-]+(:\d+)?$/.test(text.trim()) || /^\[[0-9a-fA-F:]+\](:\d+)?$/.test(text.trim());
    const hint = bare ? `; did you mean "http://${text.trim()}"?` : "";
    throw new UsageError(
      `${name} must be an http or https origin like https://relay.example, got ${got}${hint}`,
    );
  }
  return url.origin;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** A required string option, or a UsageError naming it. */
export function required(value: string | undefined, flag: string, command: string): string {
  if (value === undefined || value === "") {
    throw new UsageError(`missing ${flag} (see \`shroud ${command} --help\`)`);
  }
  return value;
}

function isErrno(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string";
}

function describeFsError(error: unknown): string {
  if (!isErrno(error)) return "unknown error";
  switch (error.code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    case "EEXIST":
      return "already exists";
    default:
      return error.code ?? "error";
  }
}

/**
 * How to run this CLI again, as the user started it, for commands printed as hints: `npx
 * shroud` under npm (`npm start`, `npx shroud`), `shroud` when found on PATH, else `node` and
 * the script's path as given.
 *
 * @example cliCommand(process.env, process.argv[1]) // "npx shroud" under `npm start`
 */
export function cliCommand(env: NodeJS.ProcessEnv, script: string | undefined): string {
  if (env["npm_lifecycle_event"] || env["npm_command"] === "exec") return "npx shroud";
  if (script === undefined) return "shroud";
  if (basename(script) === "shroud") return "shroud";
  const shown = relative(process.cwd(), script);
  return `node ${shown.startsWith("..") || isAbsolute(shown) ? script : shown}`;
}

/**
 * Warns on stderr when a file holding a private key can be read by other users (any group or
 * other bit set): the CLI writes such files 0600, so a wider mode means someone copied or
 * created it by hand, and it is worth a line before the key is used.
 */
export async function warnIfShared(path: string, what: string, io: CliIo): Promise<void> {
  if (process.platform === "win32") return;
  const mode = (await stat(path).catch(() => undefined))?.mode;
  if (mode === undefined || (mode & 0o077) === 0) return;
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  await line(
    io.stderr,
    `shroud: warning: ${what} ${path} is readable by other users (mode ${octal}); ` +
      `it holds a private key: chmod 600 ${path}`,
  );
}

/** Reads a UTF-8 file; a missing or unreadable file is a CliError naming the path. */
export async function readTextFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new CliError(`cannot read ${what} ${path}: ${describeFsError(error)}`);
  }
}

/** Reads a whole file as bytes. */
export async function readBytesFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new CliError(`cannot read ${what} ${path}: ${describeFsError(error)}`);
  }
}

/**
 * Creates a file that must not exist yet, with exactly `mode` (chmod after creation because the
 * umask may have cleared bits, and an explicit 0600 must not depend on it).
 */
export async function writeNewFile(
  path: string,
  data: string | Uint8Array,
  mode: number,
  what: string,
): Promise<void> {
  try {
    await writeFile(path, data, { flag: "wx", mode });
  } catch (error) {
    if (isErrno(error) && error.code === "EEXIST") {
      throw new CliError(`${what} ${path} already exists; not overwriting it`);
    }
    throw new CliError(`cannot write ${what} ${path}: ${describeFsError(error)}`);
  }
  await chmod(path, mode);
}

/** Removes a file we created, ignoring failure (used to undo a half-done command). */
export async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

/** Whether an error is a filesystem "already exists". */
export function isAlreadyExists(error: unknown): boolean {
  return isErrno(error) && error.code === "EEXIST";
}

/** Reads stdin to the end. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk));
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * The Redis key ring's master key from SHROUD_MASTER_KEY (32 bytes, base64 or base64url). It is
 * read from the environment only: a flag would show it in the process list.
 */
export function masterKeyFromEnv(env: NodeJS.ProcessEnv): SecretBytes {
  const text = env["SHROUD_MASTER_KEY"];
  if (!text) {
    throw new UsageError(
      "SHROUD_MASTER_KEY must be set with Redis: 32 random bytes in base64 " +
        "(make one with `shroud keys new-master-key`)",
    );
  }
  const key = decodeMasterKey(text);
  if (!key) throw new UsageError("SHROUD_MASTER_KEY must be 32 bytes in base64");
  return key;
}

/**
 * `promise`'s value, or "timeout" once `ms` have passed.
 *
 * @example if ((await within(relay.close(), 15_000)) === "timeout") return 1;
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
