// How the dashboard writes numbers, durations, dates and ratings for people.
// A module of its own so that tests/browser/page_test.mjs formats the API's
// values with exactly these rules when it checks what the page shows.
// Times are shown in UTC because the API's daily buckets are UTC days.

export const NONE = '\u2014';  // an em dash for "no value" (no samples, no deployments)

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// One decimal below 10 (1.5, 9.8), none from 10 on (12, 140): enough
// precision to compare, without noise.
export function shortNumber(n) {
  if (Math.abs(n) < 9.95) return String(Number(n.toFixed(1)));
  return String(Math.round(n));
}

export function formatCount(n) {
  if (n === null || n === undefined) return NONE;
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

// Seconds as the largest unit that keeps the number readable: 45 s, 12 min,
// 5.5 h, 3.2 days. Hours go up to 48 so that "a day and a half" stays 36 h.
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return NONE;
  const sign = seconds < 0 ? '\u2212' : '';
  const s = Math.abs(seconds);
  if (s < 59.5) return `${sign}${Math.round(s)} s`;
  if (s < 3600 - 30) return `${sign}${shortNumber(s / 60)} min`;
  if (s < 48 * 3600) return `${sign}${shortNumber(s / 3600)} h`;
  return `${sign}${shortNumber(s / 86400)} days`;
}

// Percent with at most two decimals: 16.67%, 12.5%, 50%.
export function formatPercent(percent) {
  if (percent === null || percent === undefined || !Number.isFinite(percent)) return NONE;
  return `${Number(percent.toFixed(2))}%`;
}

// Successful deployments per day as the unit a person thinks in: several a
// day, a few a week, or a few a month.
export function formatFrequency(perDay) {
  if (perDay === null || perDay === undefined || !Number.isFinite(perDay)) return NONE;
  if (perDay === 0) return 'None';
  if (perDay >= 1) return `${shortNumber(perDay)} / day`;
  if (perDay * 7 >= 1) return `${shortNumber(perDay * 7)} / week`;
  return `${shortNumber(perDay * 30)} / month`;
}

const RATINGS = { elite: 'Elite', high: 'High', medium: 'Medium', low: 'Low' };

export function ratingLabel(rating) {
  return RATINGS[rating] ?? 'Not rated';
}

export function plural(n, one, many) {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

// "2026-11-20" -> "20 Nov".
export function formatDay(day) {
  const [, m, d] = day.split('-').map(Number);
  return `${d} ${MONTHS[m - 1]}`;
}

// "2026-11-20" -> "20 Nov 2026".
export function formatDate(day) {
  const [y] = day.split('-');
  return `${formatDay(day)} ${y}`;
}

// RFC 3339 -> "20 Nov 10:05" (UTC); the year only when it is not this year's.
export function formatTime(iso, now = new Date()) {
  if (!iso) return NONE;
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const pad = (n) => String(n).padStart(2, '0');
  const year = t.getUTCFullYear() === now.getUTCFullYear() ? '' : ` ${t.getUTCFullYear()}`;
  return `${t.getUTCDate()} ${MONTHS[t.getUTCMonth()]}${year} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}`;
}

export function shortSha(sha) {
  return sha ? sha.slice(0, 7) : NONE;
}

// The unit a duration axis is labelled in, chosen from its largest value.
export function durationUnit(maxSeconds) {
  if (maxSeconds < 120) return { name: 's', seconds: 1 };
  if (maxSeconds < 2 * 3600) return { name: 'min', seconds: 60 };
  if (maxSeconds < 72 * 3600) return { name: 'h', seconds: 3600 };
  return { name: 'd', seconds: 86400 };
}
