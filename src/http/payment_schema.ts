/** The payment event a client sends to `POST /payments`. */
import { z } from "zod";

/** Payment event types the service accepts. */
export const PAYMENT_EVENT_TYPES = [
  "PAYMENT_CREATED",
  "PAYMENT_AUTHORIZED",
  "PAYMENT_CAPTURED",
  "PAYMENT_SETTLED",
  "PAYMENT_FAILED",
  "PAYMENT_CANCELLED",
  "PAYMENT_REFUNDED",
  "PAYMENT_CHARGEBACK",
] as const;

const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));
const ID = /^[A-Za-z0-9][A-Za-z0-9._:\-]*$/;

/** Validates one payment event; unknown fields are rejected. */
export const paymentEventSchema = z.strictObject({
  eventId: z.uuid({ error: "must be a UUID" }).optional(),
  paymentId: z.string().min(1).max(64).regex(ID, "letters, digits and . _ : - only"),
  merchantId: z.string().min(1).max(64).regex(ID, "letters, digits and . _ : - only"),
  type: z.enum(PAYMENT_EVENT_TYPES),
  amount: z.number().int("must be an integer amount in minor units").positive().max(
    Number.MAX_SAFE_INTEGER,
  ),
  currency: z.string().refine((c) => CURRENCIES.has(c), "must be an ISO 4217 code, e.g. EUR"),
  occurredAt: z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time" }),
  metadata: z.record(
    z.string().max(64),
    z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]),
  ).refine((m) => Object.keys(m).length <= 50, "at most 50 keys").optional(),
}).meta({ id: "PaymentEvent" });

/** A validated payment event. */
export type PaymentEvent = z.infer<typeof paymentEventSchema>;
