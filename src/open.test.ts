// `openModelSource` on a .gguf: the tokenizer and chat template come from the header alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fixtureGguf, truncatedCopy } from "../test/helpers/gguf-fixture.js";
import { readGguf, readGgufMetadata } from "./formats/gguf/read.js";
import { openModelSource } from "./open.js";
import { tokenizerFromGguf } from "./tokenizer/gguf.js";

test("openModelSource on a .gguf reads only the header for the tokenizer and template", async () => {
  const path = fixtureGguf("qwen3-dense-tiny", "q8_0");
  // Without its data section the file cannot be fully read, so these succeed only from the header.
  const cut = truncatedCopy(path, readGgufMetadata(path).dataStart, "open-header-only.gguf");
  const src = await openModelSource(cut);
  const whole = await openModelSource(path);
  const text = "Hello, world! 你好";
  assert.deepEqual(src.tokenizer().encode(text), tokenizerFromGguf(readGguf(path)).encode(text));
  assert.equal(src.hasChatTemplate(), true);
  const req = { messages: [{ role: "user" as const, content: "hi" }] };
  assert.equal(src.chatTemplate().render(req), whole.chatTemplate().render(req));
  await assert.rejects(src.loadModel(), /lies beyond the end of the file/);
});
