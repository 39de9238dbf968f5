/** Nest DI tokens of the identity area (explicit `@Inject(Token)`). */
export const IDENTITY_STORE = Symbol('gateway.identity-store');
export const USAGE_RECORDER = Symbol('gateway.usage-recorder');
