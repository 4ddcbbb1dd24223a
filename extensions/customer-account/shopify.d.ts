// The `shopify` global of each target, as Shopify CLI generates this file for Preact extensions
// (https://shopify.dev/docs/api/customer-account-ui-extensions/2025-10/upgrading-to-2025-10).
import "@shopify/ui-extensions";

//@ts-ignore
declare module "./src/ProfileBlock.tsx" {
  const shopify: import("@shopify/ui-extensions/customer-account.profile.block.render").Api;
  const globalThis: { shopify: typeof shopify };
}

//@ts-ignore
declare module "./src/OrderStatusBlock.tsx" {
  const shopify: import("@shopify/ui-extensions/customer-account.order-status.block.render").Api;
  const globalThis: { shopify: typeof shopify };
}
