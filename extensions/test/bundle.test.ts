/** Every target's module bundles (all its imports resolve, as Shopify CLI's esbuild build needs)
 *  and stays under Shopify's limit: "Your compiled UI extension bundle can't exceed 64 KB"
 *  (https://shopify.dev/docs/api/customer-account-ui-extensions/2025-10/upgrading-to-2025-10). */
import { build } from "esbuild";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const HERE = resolve(__dirname, "..");
const modules = readdirSync(HERE)
  .filter((d) => existsSync(join(HERE, d, "shopify.extension.toml")))
  .flatMap((d) => [...readFileSync(join(HERE, d, "shopify.extension.toml"), "utf8").matchAll(/module = "([^"]+)"/g)].map((m) => join(HERE, d, m[1])));

describe("bundles", () => {
  it("there is one module per target", () => expect(modules.length).toBe(6));

  it.each(modules)("%s bundles under 64 KB", async (entry) => {
    const out = await build({
      entryPoints: [entry], bundle: true, minify: true, write: false, format: "esm",
      jsx: "automatic", jsxImportSource: "preact", logLevel: "silent",
    });
    const size = out.outputFiles[0].contents.byteLength;
    expect(size).toBeGreaterThan(1000);
    expect(size).toBeLessThan(64 * 1024);
  });
});
