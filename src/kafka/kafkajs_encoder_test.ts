import { assertEquals } from "@std/assert";
import { createRequire } from "node:module";
import { Kafka } from "./kafkajs.ts";

const require = createRequire(import.meta.url);

/** kafkajs's own writeUVarInt, as shipped (kafkajs.ts replaces it on the prototype). */
function shippedUVarInt(value: number): number[] {
  const byteArray: number[] = [];
  while ((value & 0xffffff80) !== 0) {
    byteArray.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  byteArray.push(value & 0x7f);
  return byteArray;
}

Deno.test("kafkajs varints: the patched encoder writes the bytes kafkajs wrote, for every size", () => {
  assertEquals(typeof Kafka, "function");
  // deno-lint-ignore no-explicit-any
  const Encoder = require("kafkajs/src/protocol/encoder.js") as any;
  assertEquals(
    String(Encoder.prototype.writeUVarInt).includes("Buffer.from"),
    false,
    "kafkajs.ts must have replaced writeUVarInt",
  );
  const values = [
    0,
    1,
    127,
    128,
    255,
    300,
    16383,
    16384,
    2 ** 21 - 1,
    2 ** 21,
    2 ** 28,
    2 ** 31 - 1,
  ];
  for (let i = 0; i < 2000; i++) values.push(Math.floor(Math.random() * 2 ** 31));
  for (const v of [...values, ...values.map((v) => -v)]) {
    // Signed values go through zig-zag (writeVarInt), as records' lengths and deltas do.
    const e = new Encoder(1);
    e.writeVarInt(v);
    const zig = Encoder.encodeZigZag(v);
    assertEquals([...e.buffer], shippedUVarInt(zig), `value ${v}`);
    assertEquals(e.buffer.length, Encoder.sizeOfVarInt(v));
  }
  // Several in a row grow the buffer past its first size.
  const e = new Encoder(1);
  for (const v of values.slice(0, 200)) e.writeUVarInt(v);
  assertEquals([...e.buffer], values.slice(0, 200).flatMap(shippedUVarInt));
});
