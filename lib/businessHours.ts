/**
 * P2: verification cases are due a number of *business* hours after submission, counted on the
 * support desk's wall clock. Windows are built per local date and converted to UTC with Intl, so a
 * DST change shortens or lengthens nothing but the night. Pure: no clock, no I/O.
 */

export interface BusinessCalendar {
  timeZone: string;
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  days: number[];
  /** Minutes after local midnight; startMinute < endMinute <= 1440. */
  startMinute: number;
  endMinute: number;
}

const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Parses e.g. "Mon-Fri 08:00-18:00", "Mon,Wed,Fri 08:00-12:00", "Sun-Thu 09:00-17:00", "Mon-Sun 00:00-24:00". */
export function parseBusinessHours(spec: string, timeZone: string): BusinessCalendar {
  const match = /^\s*(\S+)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$/.exec(spec);
  if (!match) throw new Error(`business hours "${spec}" must look like "Mon-Fri 08:00-18:00"`);
  const [, dayList, start, end] = match as unknown as [string, string, string, string];

  const days = new Set<number>();
  for (const item of dayList.split(',')) {
    const [from, to, extra] = item.split('-');
    if (extra !== undefined) throw new Error(`business hours "${spec}": bad day range "${item}"`);
    const first = isoWeekday(from ?? '', spec);
    const last = to === undefined ? first : isoWeekday(to, spec);
    // A range may wrap past Sunday ("Sun-Thu").
    for (let d = first; ; d = (d % 7) + 1) {
      days.add(d);
      if (d === last) break;
    }
  }

  const startMinute = minuteOfDay(start, spec);
  const endMinute = minuteOfDay(end, spec);
  if (endMinute <= startMinute) throw new Error(`business hours "${spec}": closing time must be after opening time`);

  assertTimeZone(timeZone);
  return { timeZone, days: [...days].sort((a, b) => a - b), startMinute, endMinute };
}

/**
 * The instant at which `hours` business hours have elapsed after `from`. Time outside the windows does
 * not count, so starting outside hours counts from the next opening; ending exactly at closing time
 * returns the closing time, not the next opening.
 */
export function addBusinessHours(from: Date, hours: number, cal: BusinessCalendar): Date {
  if (Number.isNaN(from.getTime())) throw new RangeError('addBusinessHours: invalid start date');
  if (!Number.isFinite(hours) || hours < 0) throw new RangeError(`addBusinessHours: hours must be a finite number >= 0, got ${hours}`);
  assertCalendar(cal);

  let remaining = Math.round(hours * HOUR_MS);
  const cursor = from.getTime();
  let date = localDate(cursor, cal.timeZone);
  for (;;) {
    if (cal.days.includes(isoWeekdayOf(date))) {
      const open = Math.max(cursor, zonedToUtc(date, cal.startMinute, cal.timeZone));
      const close = zonedToUtc(date, cal.endMinute, cal.timeZone);
      if (open < close) {
        if (remaining <= close - open) return new Date(open + remaining);
        remaining -= close - open;
      }
    }
    date += DAY_MS;
  }
}

function isoWeekday(name: string, spec: string): number {
  const index = DAY_NAMES.indexOf(name.trim().toLowerCase());
  if (index < 0) throw new Error(`business hours "${spec}": unknown day "${name}" (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)`);
  return index + 1;
}

function minuteOfDay(hhmm: string, spec: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  if (m > 59 || h > 24 || (h === 24 && m !== 0)) throw new Error(`business hours "${spec}": invalid time "${hhmm}"`);
  return h * 60 + m;
}

function assertTimeZone(timeZone: string): void {
  try {
    // An empty or missing zone would silently mean the host's zone.
    if (typeof timeZone !== 'string' || timeZone.trim() === '') throw new RangeError();
    new Intl.DateTimeFormat(undefined, { timeZone });
  } catch {
    throw new Error(`unknown time zone "${timeZone}": use an IANA name such as "Europe/Zurich"`);
  }
}

// Calendars also arrive from config objects and activity deps, not only from the parser; a bad one
// would otherwise loop forever.
function assertCalendar(cal: BusinessCalendar): void {
  const validDays = cal.days.length > 0 && cal.days.every((d) => Number.isInteger(d) && d >= 1 && d <= 7);
  const validWindow =
    Number.isInteger(cal.startMinute) && Number.isInteger(cal.endMinute) && cal.startMinute >= 0 && cal.startMinute < cal.endMinute && cal.endMinute <= 1440;
  if (!validDays || !validWindow) throw new RangeError(`invalid business calendar ${JSON.stringify(cal)}`);
  assertTimeZone(cal.timeZone);
}

/** A local calendar date, as the UTC midnight of that date (a plain day count, no zone attached). */
type LocalDate = number;

function isoWeekdayOf(date: LocalDate): number {
  return ((new Date(date).getUTCDay() + 6) % 7) + 1;
}

function localDate(instant: number, timeZone: string): LocalDate {
  const wall = instant + offsetAt(instant, timeZone);
  return wall - (((wall % DAY_MS) + DAY_MS) % DAY_MS);
}

/**
 * The UTC instant of `minute` past midnight on `date` in `timeZone`. Like Temporal's "compatible"
 * disambiguation: a time skipped by a spring-forward gap moves forward by the gap, a time repeated in
 * autumn takes its first occurrence.
 */
function zonedToUtc(date: LocalDate, minute: number, timeZone: string): number {
  const wall = date + minute * MINUTE_MS;
  // Offsets a day either side bracket any single transition near this wall time.
  const before = offsetAt(wall - DAY_MS, timeZone);
  const after = offsetAt(wall + DAY_MS, timeZone);
  const candidates = [wall - before, wall - after].filter((t) => offsetAt(t, timeZone) === wall - t);
  if (candidates.length > 0) return Math.min(...candidates);
  return wall - before;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset in ms at `instant`: read its wall clock with Intl and compare. */
function offsetAt(instant: number, timeZone: string): number {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, fmt);
  }
  const parts: Record<string, string> = {};
  for (const { type, value } of fmt.formatToParts(instant)) parts[type] = value;
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  const wholeSeconds = instant - (((instant % 1000) + 1000) % 1000);
  return wall - wholeSeconds;
}
