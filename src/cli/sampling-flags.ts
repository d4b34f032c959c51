/**
 * The sampling flags `generate` and `chat` share: parseArgs options, usage text, and their mapping
 * onto the engine's `SamplingParams`, validated before the (slow) model load with errors that name
 * the flag.
 */
import { validateSamplingParams, type SamplingParams } from "../engine/sampler.js";
import { numberFlag } from "./args.js";

/** parseArgs options for the sampling flags; spread into a command's own options. */
export const samplingFlagOptions = {
  temperature: { type: "string" },
  "top-p": { type: "string" },
  "top-k": { type: "string" },
  "min-p": { type: "string" },
  "presence-penalty": { type: "string" },
  "frequency-penalty": { type: "string" },
  "repetition-penalty": { type: "string" },
} as const;

/** Usage lines for the sampling flags. */
export const samplingFlagUsage = `  --temperature T           0 = greedy
  --top-p P                 nucleus sampling, in (0, 1]
  --top-k K                 keep the K most likely tokens (0 = off)
  --min-p M                 drop tokens below M x the top probability, in [0, 1]
  --presence-penalty X      OpenAI presence penalty
  --frequency-penalty X     OpenAI frequency penalty
  --repetition-penalty X    Hugging Face repetition penalty (> 0, 1 = off)`;

const flagOf: Record<keyof SamplingParams, string> = {
  temperature: "--temperature",
  topP: "--top-p",
  topK: "--top-k",
  minP: "--min-p",
  presencePenalty: "--presence-penalty",
  frequencyPenalty: "--frequency-penalty",
  repetitionPenalty: "--repetition-penalty",
  logitBias: "--logit-bias",
};

type SamplingFlagValues = { [K in keyof typeof samplingFlagOptions]?: string };

/** Parse and validate the sampling flags (unset ones stay undefined: the model's defaults apply). */
export function parseSamplingFlags(v: SamplingFlagValues): SamplingParams {
  const sampling: SamplingParams = {
    temperature: numberFlag("temperature", v.temperature, { min: 0 }),
    topP: numberFlag("top-p", v["top-p"]),
    topK: numberFlag("top-k", v["top-k"], { integer: true }),
    minP: numberFlag("min-p", v["min-p"]),
    presencePenalty: numberFlag("presence-penalty", v["presence-penalty"]),
    frequencyPenalty: numberFlag("frequency-penalty", v["frequency-penalty"]),
    repetitionPenalty: numberFlag("repetition-penalty", v["repetition-penalty"]),
  };
  validateSamplingParams(sampling, { nameOf: (k) => flagOf[k] });
  return sampling;
}
