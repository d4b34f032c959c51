/**
 * The command table of `qwenrt` (kept apart from main.ts, which runs on import): every command, each
 * `cli/commands/<name>.ts`, with the line `qwenrt --help` shows for it; and how an error prints.
 */

/** Implemented commands (see DESIGN.md's CLI contract), each `cli/commands/<name>.ts`, with its line in --help. */
export const commands: Readonly<Record<string, string>> = {
  chat: "chat with a model in the terminal",
  serve: "serve the OpenAI API (chat, completions, responses, embeddings, …) on a port",
  moderate: "a Qwen3Guard verdict on a conversation's last message",
  generate: "continue a prompt, or answer one chat message",
  pull: "download a model from the Hugging Face Hub into the cache",
  list: "list the models in the Hugging Face cache: size, type, last use",
  show: "show a model: architecture, parameters, context, template features",
  ps: "show what a running server has loaded: memory, uptime, requests",
  rm: "remove a model from the Hugging Face cache",
  tokenize: "text → token ids",
  render: "an OpenAI chat request → the exact prompt text",
  logits: "token ids → top-k logits per position",
  convert: "a Hugging Face checkpoint → GGUF (f16, bf16, q8_0, q4_0, q4_k_m, q6_k)",
  synth: "write a random-weight model of a real model's shape",
  bench: "prefill and decode speed, beside llama.cpp",
};

/** One error line: `qwenrt: ` unless the message already names the command (`qwenrt serve: …`). */
export function errorLine(message: string): string {
  return /^qwenrt\b/.test(message) ? `${message}\n` : `qwenrt: ${message}\n`;
}
