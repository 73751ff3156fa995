/**
 * One owner per embedded data folder: an exclusive lock taken before the store opens, so a second
 * process on the same folder (an overlapping restart, a second terminal) is refused instead of
 * acknowledging events into files the first process overwrites.
 */

/** A held folder lock; release() lets the next owner in. */
export interface StoreLock {
  /** The lock file beside the data folder. */
  readonly path: string;
  release(): void;
}

/** Thrown when another live process owns the folder; names the folder and the holder's pid. */
export class StoreInUseError extends Error {
  override readonly name = "StoreInUseError";

  constructor(readonly dataDir: string, readonly holderPid: number | null) {
    super(
      `the embedded store in ${dataDir} is in use by another process` +
        (holderPid === null ? "" : ` (pid ${holderPid})`) +
        `; stop that process first, or give this one its own DATA_DIR or a DATABASE_URL`,
    );
  }
}

/**
 * Takes the exclusive lock of `dataDir` (the file `<dataDir>.lock`) or throws StoreInUseError.
 * The lock is the kernel's (flock): it dies with its process, so a killed owner never blocks
 * the next start. The file itself stays: deleting it could let two processes lock two inodes.
 */
export async function lockDataDir(dataDir: string): Promise<StoreLock> {
  const path = `${dataDir.replace(/\/+$/, "")}.lock`;
  const parent = path.slice(0, Math.max(0, path.lastIndexOf("/")));
  if (parent) await Deno.mkdir(parent, { recursive: true });
  const file = await Deno.open(path, { read: true, write: true, create: true });
  let locked = false;
  try {
    locked = await file.tryLock(true);
    if (!locked) throw new StoreInUseError(dataDir, await holderPid(path));
    // The pid is for the error message of whoever comes next; the lock itself is what counts.
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  } catch (e) {
    if (locked) await file.unlock().catch(() => {});
    file.close();
    throw e;
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      try {
        file.unlockSync();
      } finally {
        file.close();
      }
    },
  };
}

async function holderPid(path: string): Promise<number | null> {
  try {
    const pid = Number.parseInt(await Deno.readTextFile(path), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
