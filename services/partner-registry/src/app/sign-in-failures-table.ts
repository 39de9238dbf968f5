/** The sign-in throttle's table (a leaf: the service's DB type imports it, nothing here imports back). */
export interface SignInFailuresTables {
  sign_in_failures: { key: string; failures: number; window_started_at: Date };
}
