// Reads .ics files as ical.js does (Thunderbird, many web calendars): one JSON request
// per line on stdin ({"ics": "..."}), one JSON answer per line on stdout, each VEVENT's
// UID, texts and instants (UTC wall time "YYYY-MM-DDTHH:MM:SS", as ical.js converts it:
// its toUnixTime goes through JavaScript's Date.UTC, which takes year 1 for 1901; DATE
// values as "YYYY-MM-DD"). ical.js needs every
// VTIMEZONE registered before it can place a TZID's wall time, as a client does on import.
import readline from "node:readline";
import ICAL from "ical.js";

const pad = (n, w = 2) => String(n).padStart(w, "0");
const day = (t) => `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`;

function instant(time) {
  if (!time) return null;
  if (time.isDate) return { date: day(time) };
  if (time.zone === ICAL.Timezone.localTimezone) return { floating: time.toString() };
  const utc = time.convertToZone(ICAL.Timezone.utcTimezone);
  return { utc: `${day(utc)}T${pad(utc.hour)}:${pad(utc.minute)}:${pad(utc.second)}` };
}

function text(component, name) {
  const value = component.getFirstPropertyValue(name);
  return value === null ? null : String(value);
}

function read(ics) {
  const calendar = new ICAL.Component(ICAL.parse(ics));
  ICAL.TimezoneService.reset();
  for (const zone of calendar.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(new ICAL.Timezone(zone));
  }
  const events = calendar.getAllSubcomponents("vevent").map((vevent) => {
    const event = new ICAL.Event(vevent);
    return {
      uid: event.uid,
      summary: text(vevent, "summary"),
      description: text(vevent, "description"),
      location: text(vevent, "location"),
      start: instant(event.startDate),
      end: instant(event.endDate),
    };
  });
  return {
    name: text(calendar, "name"),
    calname: text(calendar, "x-wr-calname"),
    components: calendar.getAllSubcomponents().length,
    events,
  };
}

const lines = readline.createInterface({ input: process.stdin, terminal: false });
for await (const line of lines) {
  let answer;
  try {
    answer = { ok: read(JSON.parse(line).ics) };
  } catch (error) {
    answer = { error: String(error && error.stack ? error.stack : error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
