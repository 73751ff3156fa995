import { assert, assertFalse } from "@std/assert";
import { isDriverWriteFault } from "./db.ts";

function withStack(e: Error, stack: string): Error {
  Object.defineProperty(e, "stack", { value: `${e.name}: ${e.message}\n${stack}` });
  return e;
}

const DRIVER_STACK =
  "    at Immediate.nextWrite (file:///root/.cache/deno/npm/registry.npmjs.org/postgres/3.4.9/src/connection.js:255:22)\n" +
  "    at Immediate.callback (ext:deno_node/internal/timers.mjs:4:3069)";

Deno.test("the postgres.js null-socket write fault is recognised", () => {
  const e = withStack(
    new TypeError("Cannot read properties of null (reading 'write')"),
    DRIVER_STACK,
  );
  assert(isDriverWriteFault(e));
});

Deno.test("other errors are never taken for the driver fault", () => {
  assertFalse(
    isDriverWriteFault(new TypeError("Cannot read properties of null (reading 'write')")),
  );
  assertFalse(
    isDriverWriteFault(withStack(new TypeError("x is not a function"), DRIVER_STACK)),
  );
  assertFalse(
    isDriverWriteFault(
      withStack(
        new Error("Cannot read properties of null (reading 'write')"),
        DRIVER_STACK,
      ),
    ),
  );
  assertFalse(
    isDriverWriteFault(
      withStack(
        new TypeError("Cannot read properties of null (reading 'write')"),
        "    at nextWrite (file:///app/src/my_socket.ts:1:1)",
      ),
    ),
  );
  assertFalse(isDriverWriteFault("Cannot read properties of null (reading 'write')"));
});
