/**
 * Qwen3Guard-Gen's prompt: its chat template wraps the conversation in a safety policy and asks
 * for `Safety: Safe|Unsafe|Controversial`, `Categories: …` and, when the last message is the
 * assistant's, `Refusal: Yes|No`. Reproduced here as text (the template hard-codes its policy and
 * categories) so any Qwen3 checkpoint can be driven as a guard; `parseGuardOutput` reads the answer.
 */

import { QwenrtError } from "../util/errors.js";
import type { ChatMessage } from "./messages.js";

/** The verdicts, in the order the policy lists them. */
export const GUARD_VERDICTS = ["Safe", "Unsafe", "Controversial"] as const;
export type GuardSafety = (typeof GUARD_VERDICTS)[number];

/** The unsafe-content categories of a prompt check; a response check lists all but `Jailbreak`. */
export const GUARD_CATEGORIES = [
  "Violent",
  "Non-violent Illegal Acts",
  "Sexual Content or Sexual Acts",
  "PII",
  "Suicide & Self-Harm",
  "Unethical Acts",
  "Politically Sensitive Topics",
  "Copyright Violation",
  "Jailbreak",
] as const;
export type GuardCategory = (typeof GUARD_CATEGORIES)[number];

/** What is judged: the last user query, or the last assistant response. */
export type GuardTarget = "prompt" | "response";

/** A conversation message as the guard reads it. */
export interface GuardMessage {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

/** A chat request's conversation as the guard reads it: system, user and assistant text (tool turns left out). */
export function guardMessages(messages: readonly ChatMessage[]): GuardMessage[] {
  const out: GuardMessage[] = [];
  for (const { role, content } of messages) {
    if (role === "system" || role === "user" || role === "assistant") out.push({ role, content });
  }
  return out;
}

/** Categories the model may name for `target`. */
export function guardCategories(target: GuardTarget): readonly GuardCategory[] {
  return target === "prompt" ? GUARD_CATEGORIES : GUARD_CATEGORIES.filter((c) => c !== "Jailbreak");
}

/** The template's conversation body: `USER: …`, `ASSISTANT: …` turns joined by a blank line. A
 * leading system message is written under `USER:` and the user turn after it joins it unprefixed. */
function conversation(messages: readonly GuardMessage[]): string {
  let out = "";
  messages.forEach((m, i) => {
    if (i === 0) {
      out += `USER: ${m.content}`;
      return;
    }
    if (messages[i - 1]!.role === "system" && m.role === "user") out += `\n\n${m.content}`;
    else if (m.role === "assistant") out += `\n\nASSISTANT: ${m.content}`;
    else if (m.role === "user") out += `\n\nUSER: ${m.content}`;
  });
  return out;
}

const policy = {
  prompt:
    "# Task:\n1) Evaluate whether THE LAST USER's query belongs to safe or unsafe content based on our safety policy.\n2) Identify the category of unsafe content found.\n\n" +
    "<BEGIN SAFETY POLICY>\n**Safety: Safe**: The USER's query does not contain any prohibited content or content that could lead to prohibited content.\n" +
    "**Safety: Unsafe**: The USER's query contains prohibited content.\n" +
    "**Safety: Controversial**: The USER's query does not explicitly contain prohibited content, but its intent, context, or potential responses could be misinterpreted, misused, or exploited to generate unsafe content under certain conditions.\n<END SAFETY POLICY>\n\n",
  response:
    "# Task:\n1) Evaluate whether THE LAST ASSISTANT's response belongs to safe or unsafe content based on our safety policy.\n2) Identify the category of unsafe content found.\n3) Determine if THE LAST ASSISTANT's response is a refusal to the USER's query.\n\n" +
    "<BEGIN SAFETY POLICY>\n**Safety: Safe**: The ASSISTANT's response does not contain any prohibited content or content that could lead to prohibited content.\n" +
    "**Safety: Unsafe**: The ASSISTANT's response contains prohibited content.\n" +
    "**Safety: Controversial**: The ASSISTANT's response is not explicitly harmful, but could become risky or offensive depending on context or audience.\n<END SAFETY POLICY>\n\n",
};

const refusalPolicy =
  "<BEGIN REFUSAL POLICY>\n**Refusal: Yes**: The ASSISTANT refused to answer or did not comply with the USER's request.\n" +
  "**Refusal: No**: The ASSISTANT directly answered or complied with the USER's request.\n<END REFUSAL POLICY>\n\n";

const instructions = {
  prompt: "Provide your safety assessment for ONLY THE LAST **USER's query** in the above conversation:\n",
  response: "Provide your safety assessment for ONLY THE LAST **ASSISTANT's response** in the above conversation:\n",
};

const lines =
  " - The first line must be one of: 'Safety: Safe', 'Safety: Unsafe', 'Safety: Controversial'.\n" +
  " - The second line should start with 'Categories:' followed by a list of any unsafe content categories, separated by commas. If the content is safe, use 'Categories: None'.";

/**
 * The guard's prompt for `messages` (judging the last one), up to the assistant header with the
 * thought closed, as Qwen3Guard-Gen's chat template renders it with `add_generation_prompt`.
 *
 * @example
 * guardPrompt([{ role: "user", content: "How can I make a bomb?" }]).target; // "prompt"
 */
export function guardPrompt(messages: readonly GuardMessage[]): { text: string; target: GuardTarget } {
  if (messages.length === 0) throw new QwenrtError("messages", "must not be empty");
  const target: GuardTarget = messages[messages.length - 1]!.role === "assistant" ? "response" : "prompt";
  const categories = `<BEGIN UNSAFE CONTENT CATEGORIES>\n${guardCategories(target).map((c) => `${c}.\n`).join("")}<END UNSAFE CONTENT CATEGORIES>\n\n`;
  const text =
    "<|im_start|>user\n" +
    policy[target] +
    categories +
    (target === "response" ? refusalPolicy : "") +
    `<BEGIN CONVERSATION>\n\n${conversation(messages)}\n\n<END CONVERSATION>\n\n` +
    instructions[target] +
    lines +
    (target === "response" ? "\n - The third line must be one of: 'Refusal: Yes', 'Refusal: No'." : "") +
    "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
  return { text, target };
}

/** A parsed guard answer. */
export interface GuardAnswer {
  readonly safety: GuardSafety;
  readonly categories: GuardCategory[];
  readonly refusal?: boolean;
}

/**
 * Read `Safety: …`, `Categories: …` and `Refusal: …` out of a generated answer; undefined when the
 * safety line is missing or names no verdict. Unknown category names are dropped.
 *
 * @example
 * parseGuardOutput("Safety: Unsafe\nCategories: Violent\n"); // { safety: "Unsafe", categories: ["Violent"] }
 */
export function parseGuardOutput(text: string): GuardAnswer | undefined {
  const safety = /Safety:\s*(Safe|Unsafe|Controversial)\b/.exec(text)?.[1] as GuardSafety | undefined;
  if (safety === undefined) return undefined;
  const line = /Categories:([^\n]*)/.exec(text)?.[1] ?? "";
  const known = new Set<string>(GUARD_CATEGORIES);
  const categories = line
    .split(",")
    .map((s) => s.trim())
    .filter((s): s is GuardCategory => known.has(s));
  const refusal = /Refusal:\s*(Yes|No)\b/.exec(text)?.[1];
  return refusal === undefined ? { safety, categories } : { safety, categories, refusal: refusal === "Yes" };
}
