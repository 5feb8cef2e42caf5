import { FileRejection } from './types.ts';

// Report timestamps to unix seconds. Reports write local wall-clock times
// with a separate zone column (Adyen) or UTC (Stripe's `created_utc`).

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** Offsets of the zone abbreviations processors write, in minutes east of UTC. */
const ZONE_OFFSETS_MIN: Record<string, number> = {
  UTC: 0,
  GMT: 0,
  WET: 0,
  WEST: 60,
  BST: 60,
  CET: 60,
  CEST: 120,
  EET: 120,
  EEST: 180,
  MSK: 180,
  EST: -300,
  EDT: -240,
  CST: -360,
  CDT: -300,
  MST: -420,
  MDT: -360,
  PST: -480,
  PDT: -420,
  AEST: 600,
  AEDT: 660,
  SGT: 480,
  HKT: 480,
  JST: 540,
  IST: 330,
};

/** "2024-05-01 13:45:10" (or a bare date) in a zone given by offset, to unix seconds. */
export function parseDateTime(text: string, offsetMin: number, where: string): number {
  const match = DATE_TIME.exec(text.trim());
  if (!match)
    throw new FileRejection(`${where}: not a date-time "YYYY-MM-DD HH:MM:SS" ("${text}")`);
  const [, y, mo, d, h = '0', mi = '0', s = '0'] = match;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1) {
    throw new FileRejection(`${where}: no such date ("${text}")`);
  }
  return Math.floor(ms / 1000) - offsetMin * 60;
}

export function zoneOffsetMin(zone: string, where: string): number {
  const offset = ZONE_OFFSETS_MIN[zone.trim().toUpperCase()];
  if (offset === undefined) throw new FileRejection(`${where}: unknown time zone "${zone}"`);
  return offset;
}
