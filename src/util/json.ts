import { readFileSync } from "node:fs";
import { QwenrtError } from "./errors.js";

/** Read and parse a JSON file; errors name the file (missing, unreadable, or malformed). */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new QwenrtError(path, code === "ENOENT" ? "file not found" : `cannot read (${code ?? String(e)})`, {
      code: "not_found",
    });
  }
  return parseJson(text, path);
}

/** Parse JSON text; a syntax error names `where`. */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new QwenrtError(where, `malformed JSON (${(e as Error).message})`);
  }
}

/** True for a plain JSON object (not an array or null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
