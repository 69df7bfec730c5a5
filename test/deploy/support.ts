/**
 * Reading deploy/'s Dockerfile and compose file, and running a compose service as a local
 * process: there is no Docker engine here, so the tests check what the files say against the
 * CLI, and start each service's own command and environment on loopback instead.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "../../testkit/repo-root.js";

export const DEPLOY_DIR = join(REPO_ROOT, "deploy");

/** The instructions of a Dockerfile's last stage that say how the image runs. */
export interface RuntimeImage {
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  expose: string[];
  volumes: string[];
  user: string | undefined;
  healthcheck: string[];
  /** Every COPY source outside `--from` copies, relative to the build context. */
  copied: string[];
}

/** Joins continuation lines and drops comments. */
function instructions(text: string): string[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

/** `KEY=value KEY2=value2` as ENV writes them (values without spaces or quotes here). */
function envPairs(text: string): [string, string][] {
  return text
    .trim()
    .split(/\s+/)
    .map((pair) => {
      const at = pair.indexOf("=");
      return [pair.slice(0, at), pair.slice(at + 1)];
    });
}

/** Reads deploy/Dockerfile: the runtime stage's settings and every stage's COPY sources. */
export function readDockerfile(): RuntimeImage {
  const lines = instructions(readFileSync(join(DEPLOY_DIR, "Dockerfile"), "utf8"));
  const image: RuntimeImage = {
    env: {},
    entrypoint: [],
    cmd: [],
    expose: [],
    volumes: [],
    user: undefined,
    healthcheck: [],
    copied: [],
  };
  for (const line of lines) {
    const [keyword, ...rest] = line.split(/\s+/);
    const argument = rest.join(" ");
    switch (keyword) {
      case "FROM":
        // A new stage: only the last one's settings describe the running image.
        Object.assign(image, { env: {}, entrypoint: [], cmd: [], expose: [], volumes: [] });
        image.user = undefined;
        image.healthcheck = [];
        break;
      case "ENV":
        Object.assign(image.env, Object.fromEntries(envPairs(argument)));
        break;
      case "ENTRYPOINT":
        image.entrypoint = JSON.parse(argument) as string[];
        break;
      case "CMD":
        image.cmd = JSON.parse(argument) as string[];
        break;
      case "EXPOSE":
        image.expose.push(...rest);
        break;
      case "VOLUME":
        image.volumes.push(...(JSON.parse(argument) as string[]));
        break;
      case "USER":
        image.user = argument;
        break;
      case "HEALTHCHECK":
        image.healthcheck = JSON.parse(argument.slice(argument.indexOf("CMD ") + 4)) as string[];
        break;
      case "COPY":
        if (!rest[0]!.startsWith("--from")) image.copied.push(...rest.slice(0, -1));
        break;
    }
  }
  return image;
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  expose?: string[];
  ports?: string[];
  read_only?: boolean;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

/**
 * Reads deploy/compose.yaml (YAML merge keys on, as Compose reads them) with `${NAME}`,
 * `${NAME:-default}` and `${NAME:?message}` taken from `variables`, as Compose interpolates.
 */
export function readCompose(variables: Record<string, string>): {
  services: Record<string, ComposeService>;
} {
  const text = readFileSync(join(DEPLOY_DIR, "compose.yaml"), "utf8");
  const interpolated = text.replace(
    /\$\{([A-Z0-9_]+)(?::([?-])([^}]*))?\}/g,
    (_, name: string, kind?: string, rest?: string) => {
      const value = variables[name];
      if (value !== undefined && value !== "") return value;
      if (kind === "-") return rest!;
      throw new Error(`compose needs ${name}: ${rest ?? "not set"}`);
    },
  );
  return parse(interpolated, { merge: true }) as { services: Record<string, ComposeService> };
}

/** A compose service turned into a local command: program, arguments, environment. */
export interface LocalService {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** The loopback port standing in for the service's exposed port. */
  port: number;
}

/**
 * Maps compose's world onto loopback: `service:port` becomes 127.0.0.1 and that service's free
 * port, the service's own port flag or SHROUD_PORT its free port, 0.0.0.0 binds 127.0.0.1, a
 * bind-mounted file its path in deploy/, and a named volume a fresh temporary directory.
 */
export function localService(
  name: string,
  service: ComposeService,
  ports: Record<string, number>,
  image: RuntimeImage,
): LocalService {
  const hosts = new RegExp(`\\b(${Object.keys(ports).join("|")}):\\d+\\b`, "g");
  const mounts = new Map<string, string>();
  for (const volume of service.volumes ?? []) {
    const [source, target] = volume.split(":") as [string, string];
    mounts.set(
      target,
      source.startsWith(".")
        ? resolve(DEPLOY_DIR, source)
        : mkdtempSync(join(tmpdir(), `shroud-compose-${source}-`)),
    );
  }
  const rewrite = (text: string) =>
    (mounts.get(text) ?? text)
      .replace(hosts, (_, host: string) => `127.0.0.1:${ports[host]}`)
      .replace(/^0\.0\.0\.0$/, "127.0.0.1");
  const port = ports[name]!;
  const args = (service.command ?? []).map(rewrite);
  const portFlag = args.indexOf("--port");
  if (portFlag >= 0) args[portFlag + 1] = String(port);
  if (service.build) {
    // The image's entrypoint is `node bin/shroud.js`: run the same file of this checkout.
    const env = Object.fromEntries(
      Object.entries({ ...image.env, ...service.environment }).map(([k, v]) => [k, rewrite(v)]),
    );
    env["SHROUD_PORT"] = String(port);
    const [program, ...entry] = image.entrypoint;
    if (program !== "node") throw new Error(`unexpected entrypoint ${image.entrypoint.join(" ")}`);
    return {
      name,
      command: process.execPath,
      args: [...entry.map((part) => join(REPO_ROOT, part)), ...args],
      env,
      port,
    };
  }
  const [program, ...rest] = args;
  return { name, command: program!, args: rest, env: {}, port };
}
