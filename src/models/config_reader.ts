/** Typed reads of a raw `config.json` object for the config parsers (config.ts, config_hybrid.ts). */
import { QwenrtError } from "../util/errors.js";

/** Typed reads of a raw JSON object; every error names `file` and the field. */
export class ConfigReader {
  constructor(
    readonly raw: Record<string, unknown>,
    readonly file: string,
    /** Prepended to field names in errors (`"rope_parameters."` for a nested object). */
    readonly prefix = "",
  ) {}

  fail(field: string, message: string): never {
    throw new QwenrtError(this.file, `"${this.prefix}${field}" ${message}`);
  }

  has(field: string): boolean {
    return this.raw[field] !== undefined && this.raw[field] !== null;
  }

  /** A positive integer; required unless `fallback` is given. */
  posInt(field: string, fallback?: number): number {
    const v = this.raw[field];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      this.fail(field, "is required");
    }
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
      this.fail(field, `must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  /** A non-negative integer (or the fallback when absent/null). */
  nonNegInt(field: string, fallback: number): number {
    const v = this.raw[field];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      this.fail(field, `must be a non-negative integer, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  /** A finite number > 0 (or the fallback when absent/null). */
  posNumber(field: string, fallback?: number): number {
    const v = this.raw[field];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      this.fail(field, "is required");
    }
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      this.fail(field, `must be a positive number, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  bool(field: string, fallback: boolean): boolean {
    const v = this.raw[field];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "boolean") this.fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A token id or list of ids (`eos_token_id` may be either). */
  ids(field: string): number[] {
    const v = this.raw[field];
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    for (const x of list) {
      if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) {
        this.fail(field, `must be a token id or a list of token ids, got ${JSON.stringify(v)}`);
      }
    }
    return list as number[];
  }

  intList(field: string): number[] {
    const v = this.raw[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) {
      this.fail(field, `must be a list of non-negative integers, got ${JSON.stringify(v)}`);
    }
    return v as number[];
  }
}
