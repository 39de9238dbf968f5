// @pep/webhooks: outbound webhook primitives shared by every service that calls partner URLs.
// Standard Webhooks signing and verification, secrets at rest (AES-256-GCM), and SSRF safety
// (URL checks at registration, and an undici dispatcher that checks every resolved address at send time).
export * from './signing.ts';
// Secrets at rest: the keyring lives in @pep/runtime (shared with every service that seals secrets); re-exported here.
export {
  DEFAULT_KEY_ID,
  decryptSecret,
  encryptSecret,
  type Keyring,
  needsReseal,
  parseEncryptionKey,
  parseKeyring,
  SecretBoxError,
  sealedKeyId,
  singleKeyring,
} from '@pep/runtime';
export * from './ip-ranges.ts';
export * from './ssrf.ts';
