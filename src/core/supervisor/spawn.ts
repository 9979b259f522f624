/**
 * Start a command detached in its own process group with stdout and stderr appended to a log
 * file descriptor. The descriptor goes straight to the child (no pipe through us), so the child
 * survives our exit; a later supervisor adopts it by pid + start time.
 */
import { execa, type ResultPromise } from "execa";

/** Options of {@link spawnDetached}. */
export interface SpawnDetachedOptions {
  cwd: string;
  /** Open file descriptor of the log (the caller closes its copy after the call). */
  logFd: number;
  /** Environment; with `extendEnv: false` it is the whole environment. */
  env?: NodeJS.ProcessEnv;
  extendEnv?: boolean;
}

/** Spawn `command args` detached; `pid` is undefined when the spawn failed (await the result for why). */
export function spawnDetached(command: string, args: readonly string[], o: SpawnDetachedOptions): ResultPromise {
  return execa(command, [...args], {
    cwd: o.cwd,
    env: o.env,
    extendEnv: o.extendEnv ?? true,
    detached: true,
    cleanup: false,
    reject: false,
    stdin: "ignore",
    // execa's types only accept fd literals, hence the cast; the value is the real fd
    stdout: o.logFd as 3,
    stderr: o.logFd as 3,
  });
}
