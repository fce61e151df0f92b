// Expand an iCalendar file the way Thunderbird does, with Mozilla's ical.js.
//
//   node tests/js/expand_ics.mjs FILE.ics WINDOW_START_ISO WINDOW_END_ISO
//
// Registers every VTIMEZONE of the file with ICAL.TimezoneService (without that, TZID times
// silently fall back to floating time), relates RECURRENCE-ID overrides to their master by
// UID, expands each master's RRULE/EXDATE over the window and prints a JSON list of
// {uid, start_utc, end_utc, status, summary}, one per occurrence, sorted by start and UID.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const [file, windowStart, windowEnd] = process.argv.slice(2);
if (!file || !windowStart || !windowEnd) {
  console.error("usage: expand_ics.mjs FILE.ics WINDOW_START_ISO WINDOW_END_ISO");
  process.exit(2);
}
const from = Date.parse(windowStart);
const until = Date.parse(windowEnd);
const root = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));

for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(vtimezone));
}

const vevents = root.getAllSubcomponents("vevent");
const overrides = new Map();
for (const component of vevents) {
  if (component.hasProperty("recurrence-id")) {
    const uid = component.getFirstPropertyValue("uid");
    if (!overrides.has(uid)) overrides.set(uid, []);
    overrides.get(uid).push(component);
  }
}

function iso(time) {
  if (time.zone === ICAL.Timezone.localTimezone || time.isDate) {
    throw new Error(`floating or all-day time ${time.toString()} in feed`);
  }
  return time.toJSDate().toISOString().replace(".000Z", "Z");
}

function describe(uid, item, start, end) {
  return {
    uid,
    start_utc: iso(start),
    end_utc: iso(end),
    status: item.component.getFirstPropertyValue("status") || null,
    summary: item.summary || null,
  };
}

const occurrences = [];
for (const component of vevents) {
  if (component.hasProperty("recurrence-id")) continue;
  const uid = component.getFirstPropertyValue("uid");
  const event = new ICAL.Event(component, { strictExceptions: true, exceptions: overrides.get(uid) || [] });
  if (!event.isRecurring()) {
    const start = event.startDate.toJSDate().getTime();
    if (start >= from && start < until) occurrences.push(describe(uid, event, event.startDate, event.endDate));
    continue;
  }
  const iterator = event.iterator();
  let next;
  let guard = 0;
  while ((next = iterator.next())) {
    if (++guard > 100000) throw new Error(`runaway recurrence in ${uid}`);
    const details = event.getOccurrenceDetails(next);
    if (next.toJSDate().getTime() >= until && details.startDate.toJSDate().getTime() >= until) break;
    const start = details.startDate.toJSDate().getTime();
    if (start >= from && start < until) {
      occurrences.push(describe(uid, details.item, details.startDate, details.endDate));
    }
  }
}
occurrences.sort((a, b) => (a.start_utc < b.start_utc ? -1 : a.start_utc > b.start_utc ? 1 : a.uid < b.uid ? -1 : 1));
process.stdout.write(JSON.stringify(occurrences));
