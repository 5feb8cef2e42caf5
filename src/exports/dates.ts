// Times given by operators and files: unix seconds, an ISO date (UTC) or an
// ISO date-time with an offset. Shared by `payrail fx load` and the journal
// export's range.

/** Unix seconds up to the year 9999. */
export const UNIX_SECONDS_MAX = 253_402_300_799;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

function validDay(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/**
 * Unix seconds for `text`, or undefined when it is none of the accepted forms.
 * With `endOfDay`, a bare date means its last second (an inclusive `to`).
 */
export function parseTimeInput(text: string, options: { endOfDay?: boolean } = {}) {
  if (/^\d{1,12}$/.test(text)) {
    const seconds = Number(text);
    return seconds <= UNIX_SECONDS_MAX ? seconds : undefined;
  }
  const date = DATE_RE.exec(text);
  if (date) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    if (!validDay(y, m, d)) return undefined;
    const start = Date.UTC(y, m - 1, d) / 1000;
    return options.endOfDay ? start + 86_399 : start;
  }
  const datetime = DATETIME_RE.exec(text);
  if (datetime) {
    if (!validDay(Number(datetime[1]), Number(datetime[2]), Number(datetime[3]))) return undefined;
    const ms = Date.parse(text);
    if (Number.isNaN(ms) || ms < 0) return undefined;
    return Math.floor(ms / 1000);
  }
  return undefined;
}

export const TIME_INPUT_HINT =
  'unix seconds, an ISO date (2024-05-31, UTC) or an ISO date-time with an offset (2024-05-31T12:00:00Z)';

/** YYYY-MM-DD of unix seconds, in UTC. */
export function isoDay(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}
