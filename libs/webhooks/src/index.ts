// @pep/webhooks: outbound webhook primitives shared by every service that calls partner URLs.
// Standard Webhooks signing and verification, secrets at rest (AES-256-GCM), and SSRF safety
// (URL checks at registration, and an undici dispatcher that checks every resolved address at send time).
export * from './signing.ts';
export * from './secret-box.ts';
export * from './ip-ranges.ts';
export * from './ssrf.ts';
