/**
 * Typical zod v4 schemas of structured-output code (extraction, classification, forms, records,
 * recursive trees, discriminated unions), turned into JSON Schema with `z.toJSONSchema` exactly as
 * the OpenAI helpers, the AI SDK and LangChain do.
 */
import { z } from "zod";

const Address = z.object({
  street: z.string(),
  city: z.string(),
  zip: z.string().regex(/^\d{5}(-\d{4})?$/),
  country: z.enum(["US", "CA", "MX"]),
});

interface TreeNode {
  value: number;
  children: TreeNode[];
}
const Tree: z.ZodType<TreeNode> = z.object({ value: z.int(), get children() { return z.array(Tree).max(3); } });

interface Comment {
  author: string;
  text: string;
  replies: Comment[];
}
const Thread: z.ZodType<Comment> = z.object({ author: z.string().min(1).max(20), text: z.string(), get replies() { return z.array(Thread); } });

const Shape = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("circle"), radius: z.number().positive() }),
  z.object({ kind: z.literal("rect"), width: z.number().positive(), height: z.number().positive() }),
  z.object({ kind: z.literal("polygon"), points: z.array(z.tuple([z.number(), z.number()])).min(3).max(6) }),
]);

const schemas: Record<string, z.ZodType> = {
  userProfile: z.object({
    name: z.string(),
    age: z.int().min(0).max(150),
    email: z.email(),
    website: z.url().optional(),
    tags: z.array(z.string()).max(5),
  }),
  address: Address,
  customer: z.object({ id: z.uuid(), billing: Address, shipping: Address.nullable() }),
  product: z.object({
    id: z.uuid(),
    name: z.string().min(1),
    price: z.number().positive(),
    currency: z.enum(["USD", "EUR", "GBP"]),
    inStock: z.boolean(),
  }),
  event: z.object({ title: z.string(), date: z.iso.date(), start: z.iso.time(), attendees: z.array(z.email()).min(1).max(3) }),
  appointment: z.object({ at: z.iso.datetime(), until: z.iso.datetime({ offset: true }), room: z.string().max(10) }),
  recipe: z.object({
    title: z.string(),
    servings: z.int().min(1).max(12),
    ingredients: z.array(z.object({ name: z.string(), quantity: z.number().nonnegative(), unit: z.enum(["g", "ml", "cup", "tbsp", "piece"]) })).max(4),
    steps: z.array(z.string()).max(4),
  }),
  sentiment: z.object({ label: z.enum(["positive", "negative", "neutral"]), score: z.number().min(0).max(1) }),
  classification: z.object({ categories: z.array(z.enum(["billing", "technical", "sales", "other"])).min(1).max(2), confidence: z.number().gte(0).lte(1) }),
  shape: Shape,
  shapes: z.object({ items: z.array(Shape).max(3) }),
  tree: Tree,
  thread: Thread,
  invoice: z.object({
    number: z.string().regex(/^INV-\d{4}$/),
    issued: z.iso.date(),
    lines: z.array(z.object({ description: z.string(), qty: z.int().positive(), unitPrice: z.number().multipleOf(0.01).nonnegative() })).min(1).max(3),
    total: z.number().multipleOf(0.01),
  }),
  coordinates: z.tuple([z.number().min(-90).max(90), z.number().min(-180).max(180)]),
  scores: z.record(z.string(), z.number()),
  levels: z.record(z.enum(["low", "mid", "high"]), z.int()),
  person: z.object({ first: z.string(), middle: z.string().nullable(), nickname: z.string().optional(), born: z.iso.date().nullable() }),
  literals: z.object({ v: z.union([z.literal("a"), z.literal(1), z.literal(true)]), fixed: z.literal("v1") }),
  merged: z.object({ a: z.string() }).and(z.object({ b: z.number() })),
  meeting: z.object({ participants: z.array(z.object({ name: z.string(), role: z.enum(["host", "guest"]) })).min(2).max(4) }),
  bounds: z.object({ i32: z.int32(), small: z.int().gte(-10).lte(10), unit: z.number().gt(0).lt(1), safe: z.int() }),
  username: z.object({ username: z.string().min(3).max(16).regex(/^[a-z0-9_]+$/) }),
  password: z.object({ password: z.string().regex(/^(?=.*\d)[A-Za-z\d]{8,16}$/) }),
  network: z.object({ ip: z.ipv4(), mac: z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/) }),
  color: z.object({ hex: z.string().regex(/^#[0-9a-fA-F]{6}$/), name: z.string().optional() }),
  contact: z.object({ phone: z.e164(), email: z.email().optional() }),
  booking: z.object({
    checkIn: z.iso.date(),
    checkOut: z.iso.date(),
    guests: z.int().min(1).max(8),
    roomType: z.enum(["single", "double", "suite"]),
    notes: z.string().max(40).optional(),
  }),
  tasks: z.object({
    tasks: z.array(z.object({ id: z.int().positive(), title: z.string(), done: z.boolean(), priority: z.enum(["low", "medium", "high"]), due: z.iso.date().optional() })).max(3),
  }),
  apiError: z.object({ code: z.int().min(400).max(599), message: z.string(), details: z.record(z.string(), z.string()).optional() }),
  geo: z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180), alt: z.number().optional() }),
  matrix: z.object({ rows: z.array(z.array(z.number()).max(3)).max(3) }),
  flags: z.object({ flags: z.array(z.enum(["A", "B"])).length(2) }),
  steps: z.object({ percent: z.int().multipleOf(5).min(0).max(100) }),
  duration: z.object({ period: z.iso.duration() }),
  ids: z.object({ cuid: z.cuid(), nano: z.nanoid() }),
  attachment: z.object({ name: z.string().max(24).endsWith(".txt"), data: z.base64() }),
  reference: z.object({ ref: z.string().startsWith("ID-") }),
  nonempty: z.object({ values: z.array(z.number()).nonempty() }),
};

/** Name → JSON Schema (draft 2020-12, as zod writes it). */
export const zodCorpus: Record<string, Record<string, unknown>> = Object.fromEntries(
  Object.entries(schemas).map(([name, s]) => [name, z.toJSONSchema(s) as Record<string, unknown>]),
);
