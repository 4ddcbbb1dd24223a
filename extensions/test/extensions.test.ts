/** The extensions' configuration agrees with itself: the backend origin with shopify.app.toml,
 *  each API version with the npm package, each target with its module and its `shopify` type,
 *  and each text the code asks for with every language's locale file. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

import { APP_URL } from "../lib/config";

const HERE = resolve(__dirname, "..");
const REPO = resolve(HERE, "..");
const LANGS = ["en.default", "it", "de", "fr", "es"];
const UI = readdirSync(HERE).filter((d) => existsSync(join(HERE, d, "shopify.extension.toml")) && /type = "ui_extension"/.test(readFileSync(join(HERE, d, "shopify.extension.toml"), "utf8")));
const read = (...p: string[]) => readFileSync(join(...p), "utf8");
const targets = (toml: string) => [...toml.matchAll(/\[\[extensions\.targeting\]\]\s*module = "([^"]+)"\s*target = "([^"]+)"/g)].map((m) => ({ module: m[1], target: m[2] }));

describe("the extensions", () => {
  it("are the four UI extensions of issue 18", () => {
    expect(UI.sort()).toEqual(["customer-account", "pos", "rewards-page", "thank-you"]);
  });

  it("call the backend at the origin of shopify.app.toml's application_url", () => {
    const app = /^application_url = "([^"]+)"/m.exec(read(REPO, "shopify.app.toml"))![1];
    expect(APP_URL).toBe(new URL(app).origin);
  });

  it.each(UI)("%s: API version matches @shopify/ui-extensions, every target has its module and its typed `shopify`", (ext) => {
    const toml = read(HERE, ext, "shopify.extension.toml");
    const pkg = JSON.parse(read(REPO, "package.json"));
    const [y, m] = pkg.dependencies["@shopify/ui-extensions"].split(".");
    expect(/^api_version = "([^"]+)"/m.exec(toml)![1]).toBe(`${y}-${m.padStart(2, "0")}`);
    expect(/^\s*handle = "([^"]+)"/m.exec(toml)![1]).toBe(ext);
    const list = targets(toml);
    expect(list.length).toBeGreaterThan(0);
    const dts = read(HERE, ext, "shopify.d.ts");
    for (const { module, target } of list) {
      expect(existsSync(join(HERE, ext, module)), module).toBe(true);
      expect(dts).toContain(`declare module "${module}" {\n  const shopify: import("@shopify/ui-extensions/${target}").Api;`);
    }
    if (list.some((x) => x.target === "customer-account.page.render")) expect(list).toHaveLength(1); // a full page stands alone
  });

  it.each(UI)("%s: every language has every text the code and the configuration use", (ext) => {
    const tables = Object.fromEntries(LANGS.map((l) => [l, JSON.parse(read(HERE, ext, "locales", `${l}.json`))]));
    const keys = Object.keys(tables["en.default"]).sort();
    for (const l of LANGS) {
      expect(Object.keys(tables[l]).sort(), l).toEqual(keys);
      for (const k of keys) expect(typeof tables[l][k] === "string" && tables[l][k].trim() !== "", `${l}:${k}`).toBe(true);
    }
    const toml = read(HERE, ext, "shopify.extension.toml");
    const used = new Set([...toml.matchAll(/"t:([a-z_]+)"/g)].map((m) => m[1]));
    for (const file of readdirSync(join(HERE, ext, "src"))) {
      for (const m of read(HERE, ext, "src", file).matchAll(/\bt\("([a-z_]+)"/g)) used.add(m[1]);
    }
    for (const k of used) expect(keys, `${ext} uses "${k}"`).toContain(k);
    // translated, not copied: most texts differ from English in each language
    for (const l of LANGS.slice(1)) {
      const same = keys.filter((k) => tables[l][k] === tables["en.default"][k]);
      expect(same.length, `${l}: ${same.join(", ")}`).toBeLessThanOrEqual(Math.floor(keys.length / 5));
    }
  });
});
