/**
 * The grace-period rule of a rotated secret: the previous secret still signs (and is shown) until it expires.
 * Pure: the time comes in.
 */
export function previousInGrace(previousSealed: string | null, expiresAt: Date | null, now: Date): expiresAt is Date {
  return previousSealed !== null && expiresAt !== null && expiresAt.getTime() > now.getTime();
}
