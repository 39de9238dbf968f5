// Contracts of the billing context: meters, usage, plans and subscriptions (events, HTTP bodies, routes).
export * from './events.ts';
export * from './http.ts';
export * from './meters.ts';
export * from './plans.ts';
export * from './payouts.ts';
export * from './revenue.ts';
export * from './stripe.ts';
export * from './documents.ts';
