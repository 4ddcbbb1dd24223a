// The `shopify` global of each target, as Shopify CLI generates this file for Preact extensions.
import "@shopify/ui-extensions";

//@ts-ignore
declare module "./src/CustomerBlock.tsx" {
  const shopify: import("@shopify/ui-extensions/pos.customer-details.block.render").Api;
  const globalThis: { shopify: typeof shopify };
}

//@ts-ignore
declare module "./src/RedeemModal.tsx" {
  const shopify: import("@shopify/ui-extensions/pos.customer-details.action.render").Api;
  const globalThis: { shopify: typeof shopify };
}
