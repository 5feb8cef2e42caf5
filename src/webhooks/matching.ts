// Which endpoints want which events: `*` is every event, `payment_intent.*`
// every event whose type starts with `payment_intent.`, anything else an
// exact type.
export function eventMatches(enabledEvents: readonly string[], type: string): boolean {
  for (const pattern of enabledEvents) {
    if (pattern === '*' || pattern === type) return true;
    if (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1))) return true;
  }
  return false;
}
