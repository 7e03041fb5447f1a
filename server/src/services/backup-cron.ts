// Backup schedules' times (#24): the five cron fields (minute hour day-of-month month
// day-of-week, UTC) parsed with a 400 naming the field, and the next minute they match.
import { badRequest } from '../errors.js';

export interface CronSchedule {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
  /** Cron's rule: when both day fields are restricted, a day matching either runs. */
  daysRestricted: boolean;
  weekdaysRestricted: boolean;
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'dayOfMonth', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'dayOfWeek', min: 0, max: 7 },
] as const;

/** Parses `expr`; errors name `${field}.minute` (etc.) and say what is wrong. */
export function parseCron(expr: string, field = 'cron'): CronSchedule {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5 || parts[0] === '') {
    throw badRequest(
      `${field}: needs five fields "minute hour day-of-month month day-of-week" (e.g. "30 2 * * *"), got ${parts.filter(Boolean).length}`,
      field,
    );
  }
  const sets = FIELDS.map((f, i) => parseField(parts[i]!, f.min, f.max, `${field}.${f.name}`));
  const weekdays = new Set([...sets[4]!].map((d) => d % 7)); // 7 is Sunday too
  return {
    minutes: sets[0]!,
    hours: sets[1]!,
    days: sets[2]!,
    months: sets[3]!,
    weekdays,
    daysRestricted: parts[2] !== '*',
    weekdaysRestricted: parts[4] !== '*',
  };
}

function parseField(text: string, min: number, max: number, field: string): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!m) throw badRequest(`${field}: "${item}" is not a number, range (a-b), * or step (*/n)`, field);
    const from = m[1] === '*' ? min : Number(m[2]);
    const to = m[1] === '*' ? max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max : from;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (from < min || to > max) throw badRequest(`${field}: "${item}" is outside ${min}-${max}`, field);
    if (from > to) throw badRequest(`${field}: "${item}" is a range running backwards`, field);
    if (step < 1) throw badRequest(`${field}: the step in "${item}" must be at least 1`, field);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  const dom = s.days.has(d.getUTCDate());
  const dow = s.weekdays.has(d.getUTCDay());
  if (s.daysRestricted && s.weekdaysRestricted) return dom || dow;
  return dom && dow;
}

/** The first minute strictly after `after` that the schedule matches; null if none within 5 years (31 February). */
export function nextRun(s: CronSchedule, after: Date): Date | null {
  const t = new Date(after.getTime());
  t.setUTCSeconds(0, 0);
  t.setUTCMinutes(t.getUTCMinutes() + 1);
  const limit = after.getTime() + 5 * 366 * 86_400_000;
  while (t.getTime() <= limit) {
    if (!s.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0);
    } else if (!dayMatches(s, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0);
    } else if (!s.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0);
    } else if (!s.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1);
    } else {
      return t;
    }
  }
  return null;
}
