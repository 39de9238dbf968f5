/** The dispatcher's time source (ms since the epoch): passed in, so logic never reads the wall clock itself. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
