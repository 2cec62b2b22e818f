// API keys are held in @ccs/telemetry's Secret: String(), JSON, util.inspect and logs all print
// "[REDACTED]"; only reveal() yields the value.

export { REDACTED, Secret } from "@ccs/telemetry";
