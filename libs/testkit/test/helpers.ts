import { readFile } from "node:fs/promises";

/** True while a process with this pid exists (signal 0 probes without affecting it). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") {
      return false;
    }
    throw err;
  }
}

/** Linux process state letter from /proc/PID/stat ("T" = stopped, "S"/"R" = sleeping/running). */
export async function procState(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // Field 3, after the parenthesised command name (which may contain spaces).
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
}
