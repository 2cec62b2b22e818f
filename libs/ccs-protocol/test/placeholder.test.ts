import { expect, test } from "vitest";
import { placeholder } from "../src/index.ts";

test("placeholder", () => {
  expect(placeholder).toBe(1);
});
