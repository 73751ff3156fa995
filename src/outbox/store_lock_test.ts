import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { lockDataDir, StoreInUseError } from "./store_lock.ts";

Deno.test("a data folder has one owner; the next one is named the holder's pid and refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "store-lock-" });
  try {
    const first = await lockDataDir(`${dir}/data/outbox`);
    assertEquals(first.path, `${dir}/data/outbox.lock`);
    assertEquals((await Deno.readTextFile(first.path)).trim(), String(Deno.pid));
    const e = await assertRejects(() => lockDataDir(`${dir}/data/outbox/`), StoreInUseError);
    assertEquals(e.holderPid, Deno.pid);
    assert(e.message.includes(`${dir}/data/outbox`), e.message);
    assert(e.message.includes(`pid ${Deno.pid}`), e.message);
    first.release();
    first.release(); // idempotent
    const second = await lockDataDir(`${dir}/data/outbox`);
    second.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a lock left by a killed process does not block the next owner", async () => {
  const dir = await Deno.makeTempDir({ prefix: "store-lock-" });
  const script = `
    import { lockDataDir } from ${JSON.stringify(new URL("./store_lock.ts", import.meta.url).href)};
    await lockDataDir(${JSON.stringify(`${dir}/outbox`)});
    console.log("locked");
    setInterval(() => {}, 1000);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assertEquals((await reader.read()).value?.trim(), "locked");
    const held = await assertRejects(() => lockDataDir(`${dir}/outbox`), StoreInUseError);
    assertEquals(held.holderPid, child.pid);
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    const next = await lockDataDir(`${dir}/outbox`);
    assertInstanceOf(next.release, Function);
    next.release();
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});
