// The local console's page: pick who you are, read what the bot sent you, answer it, run /pmo.
// It renders the core's neutral views (View.to_dict()) and never builds HTML from text, so nothing a
// person types can become markup. No framework, no build step, no network beyond this server.
// Its own words (labels, hints, empty states) come from the server (bot/local/words.py) in the
// language of the person it acts as; index.html holds them in English for a page without JavaScript.
"use strict";

const API = "/console/api/";
const POLL_MS = 2500;
const PEOPLE_EVERY = 4; // refresh the people list every 4th poll (badges change as projects are added)
const CHANNEL_NAME = /^#[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/; // as the server checks it
// The two words a page needs when it could not fetch any (the server is down), as words.py says them.
const OFFLINE = {
  not_answering: "The bot is not answering. Is the server still running?",
  server_answered: "The server answered %(status)s.",
};

const state = {
  people: [],
  me: null, // the person id the page acts as
  tab: "dm",
  channel: null, // the channel shown in the Channels tab
  timelines: new Map(), // "p:<id>" or "c:<name>" -> timeline
  polling: false,
  ticks: 0,
  words: null, // key -> the page's word in `language`, placeholders unfilled (GET words)
  language: "en",
};

const $ = (selector) => document.querySelector(selector);

// ---- talking to the server ----------------------------------------------------------------------

async function api(method, path, body) {
  // the page's language: the server says its refusals in it
  const init = { method, headers: { Accept: "application/json", "Accept-Language": state.language } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, init);
  } catch (err) {
    throw new Error(word("not_answering"));
  }
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (!response.ok) {
    throw new Error((data && data.error) || wordText("server_answered", { status: response.status }));
  }
  return data;
}

function setStatus(message) {
  const status = $("#status");
  status.textContent = message || "";
  status.hidden = !message;
}

// ---- the page's own words -----------------------------------------------------------------------------

function word(key) {
  return (state.words && state.words[key]) || OFFLINE[key] || key;
}

// A word's text and what fills its `%(name)s` placeholders, in the translation's order. `make(name)`
// gives a node (a <code> with an English command) or a string; an unknown placeholder stays visible.
function fill(template, make) {
  return template
    .split(/%\((\w+)\)s/)
    .map((part, index) => {
      if (index % 2 === 0) return part;
      const made = make(part);
      return made === undefined || made === null ? `%(${part})s` : made;
    })
    .filter((part) => part !== "");
}

function wordText(key, values) {
  return fill(word(key), (name) => (values && name in values ? String(values[name]) : undefined)).join("");
}

// The word as nodes to append: text, and the given elements where its placeholders are.
function wordNodes(key, slots) {
  return fill(word(key), (name) => (slots ? slots[name] : undefined));
}

// Every marked element of index.html in the current words: `data-word` its content (its children
// marked `data-slot` put back where the word's placeholders are), `data-word-ATTR` an attribute
// (placeholders filled from the element's own `data-NAME`).
function applyWords() {
  document.documentElement.lang = state.language;
  for (const node of document.querySelectorAll("[data-word]")) {
    const slots = {};
    for (const child of node.children) {
      if (child.dataset.slot) slots[child.dataset.slot] = child;
    }
    node.replaceChildren(...fill(word(node.dataset.word), (name) => (slots[name] ? slots[name].cloneNode(true) : undefined)));
  }
  for (const attr of ["aria-label", "placeholder"]) {
    for (const node of document.querySelectorAll(`[data-word-${attr}]`)) {
      node.setAttribute(attr, wordText(node.getAttribute(`data-word-${attr}`), node.dataset));
    }
  }
}

// Fetch the words of the person the page acts as (or PMO_LANGUAGE's before anybody is chosen) and,
// when their language changed, say the page again in it: labels, picker, badges, empty states, and
// the bot's messages' frames (each drawn again at the next refresh).
async function loadWords(person) {
  const data = await api("GET", person === null ? "words" : `words?person=${person}`);
  if (person !== null && state.me !== person) return; // switched while waiting
  if (state.words && data.language === state.language) return;
  state.words = data.words;
  state.language = data.language;
  applyWords();
  for (const tl of state.timelines.values()) tl.views.clear();
  if ($("#person").options.length) drawPicker(state.me);
  showBadges();
  if ($("#timeline").childElementCount && state.me !== null) {
    showTimeline($("#timeline"), timeline(`p:${state.me}`), dmEmptyState());
  }
  if ($("#channel-timeline").childElementCount) {
    const tl = state.channel ? timeline(`c:${state.channel}`) : null;
    showTimeline($("#channel-timeline"), tl, channelEmptyState(state.channel));
  }
}

// ---- small helpers ---------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

// The same JSON whatever the key order, so a view that did not change is not drawn again.
function canon(value) {
  return JSON.stringify(value, (key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
      : v,
  );
}

// Slack-ish markup: *bold* and `code`; line breaks kept. Built as DOM nodes, never as HTML.
function rich(text) {
  const fragment = document.createDocumentFragment();
  String(text || "").split("\n").forEach((line, index) => {
    if (index > 0) fragment.append(el("br"));
    for (const part of line.split(/(\*[^*\n]+\*|`[^`\n]+`)/)) {
      if (!part) continue;
      if (part.length > 2 && part.startsWith("*") && part.endsWith("*")) {
        fragment.append(el("strong", { text: part.slice(1, -1) }));
      } else if (part.length > 2 && part.startsWith("`") && part.endsWith("`")) {
        fragment.append(el("code", { text: part.slice(1, -1) }));
      } else {
        fragment.append(document.createTextNode(part));
      }
    }
  });
  return fragment;
}

function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const time = date.toLocaleTimeString(state.language, { hour: "2-digit", minute: "2-digit" });
  const today = new Date().toDateString() === date.toDateString();
  return today ? time : `${date.toLocaleDateString(state.language, { day: "numeric", month: "short" })} ${time}`;
}

function me() {
  return state.people.find((p) => p.id === state.me) || null;
}

function isStaff(person) {
  return Boolean(person) && (person.role === "staff" || person.role === "admin");
}

// ---- rendering a view ------------------------------------------------------------------------------

function renderFacts(facts) {
  const body = el("tbody");
  for (const fact of facts) {
    body.append(el("tr", {}, el("th", { scope: "row" }, rich(fact.label)), el("td", {}, rich(fact.value))));
  }
  return el("table", { class: "facts" }, body);
}

// `ctx.act(action, payload, values, controls)` sends a click or a form to the bot.
function renderView(view, ctx) {
  const box = el("div", { class: view.ok === false ? "view refusal" : "view" });
  if (view.title) box.append(el("h3", { class: "title" }, rich(view.title)));
  if (view.text) box.append(el("p", { class: "text" }, rich(view.text)));
  for (const section of view.sections || []) {
    const part = el("section", { class: "part" });
    if (section.heading) part.append(el("h4", { class: "heading" }, rich(section.heading)));
    if (section.lines && section.lines.length) {
      part.append(el("ul", { class: "lines" }, ...section.lines.map((line) => el("li", {}, rich(line)))));
    }
    if (section.facts && section.facts.length) part.append(renderFacts(section.facts));
    box.append(part);
  }
  if (view.facts && view.facts.length) box.append(renderFacts(view.facts));
  if (view.lines && view.lines.length) {
    box.append(el("ul", { class: "lines" }, ...view.lines.map((line) => el("li", {}, rich(line)))));
  }
  if (view.chart) {
    box.append(
      el("figure", { class: "chart" },
        el("img", { src: `data:image/png;base64,${view.chart}`, alt: view.chart_alt || word("chart") })),
    );
  }
  let form = null;
  if (view.form) form = renderForm(view.form, ctx);
  if (view.choices && view.choices.length) box.append(renderChoices(view, form, ctx));
  if (form) box.append(form);
  if (view.attachment) {
    const file = view.attachment;
    box.append(
      el("a", {
        class: "attachment",
        href: `data:${file.mime || "application/octet-stream"};base64,${file.content}`,
        download: file.filename,
      }, wordText("download", { file: file.filename })),
    );
  }
  return box;
}

function renderChoices(view, form, ctx) {
  // Choices of which one is selected are alternatives with the current one chosen (the tastes);
  // a primary choice is just the main action (an alert's "I'll follow up").
  const toggles = view.choices.some((c) => c.selected);
  const row = el("div", { class: "choices", role: "group" });
  for (const choice of view.choices) {
    const chosen = Boolean(choice.selected) || (!toggles && choice.style === "primary");
    const button = el("button", {
      type: "button",
      class: ["choice", chosen ? "chosen" : "", choice.style === "danger" ? "danger" : ""].join(" ").trim(),
      "aria-pressed": toggles ? String(chosen) : null,
      "data-action": choice.action,
      text: choice.label,
    });
    button.addEventListener("click", () => {
      // The console shows forms inline, so a button that would open the form just goes to it.
      if (form && choice.action === `${view.form.action}_open`) {
        const first = form.querySelector("textarea, input, select");
        if (first) first.focus();
        return;
      }
      ctx.act(choice.action, choice.payload || {}, undefined, row.querySelectorAll("button"));
    });
    row.append(button);
  }
  return row;
}

function renderForm(spec, ctx) {
  const form = el("form", { class: "inline-form", "data-action": spec.action });
  const firstLabel = spec.fields.length ? spec.fields[0].label : "";
  if (spec.title && spec.title !== firstLabel) form.append(el("h4", { text: spec.title }));
  for (const field of spec.fields) {
    let control;
    if (field.kind === "multiline") {
      control = el("textarea", { name: field.name, rows: 3, maxlength: 3000, placeholder: field.placeholder || null });
    } else if (field.kind === "choice") {
      control = el("select", { name: field.name },
        el("option", { value: "", text: word("choose") }),
        ...field.options.map(([value, label]) => el("option", { value, text: label })));
    } else {
      control = el("input", { name: field.name, maxlength: 3000, placeholder: field.placeholder || null });
    }
    control.required = field.required !== false;
    form.append(el("label", { class: "field" }, el("span", { text: field.label }), control));
  }
  const submit = el("button", { type: "submit", class: "primary", text: spec.submit_label || word("send") });
  form.append(el("div", { class: "row end" }, submit));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = {};
    for (const field of spec.fields) values[field.name] = form.elements[field.name].value;
    ctx.act(spec.action, spec.payload || {}, values, form.querySelectorAll("button, textarea, input, select"));
  });
  return form;
}

// ---- timelines: one per person's DMs and one per channel ---------------------------------------------

function timeline(key) {
  let found = state.timelines.get(key);
  if (!found) {
    found = { key, el: el("div", { class: "stream" }), items: new Map(), views: new Map(), notices: new Map() };
    state.timelines.set(key, found);
  }
  return found;
}

function currentTimeline() {
  if (state.tab === "dm") return state.me === null ? null : timeline(`p:${state.me}`);
  return state.channel ? timeline(`c:${state.channel}`) : null;
}

function nearBottom() {
  return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 80;
}

function scrollToBottom() {
  window.scrollTo({ top: document.documentElement.scrollHeight });
}

// Show a reply so its beginning is visible: a long value report is read from the top.
function reveal(node) {
  const room = window.innerHeight - stickyHeaderHeight() - visibleComposerHeight();
  if (node.offsetHeight > room) node.scrollIntoView({ block: "start" });
  else scrollToBottom();
}

// On phones the header scrolls away (it would take a quarter of the screen); elsewhere it stays.
function stickyHeaderHeight() {
  const header = $(".topbar");
  return getComputedStyle(header).position === "sticky" ? header.offsetHeight : 0;
}

function visibleComposerHeight() {
  const composer = state.tab === "dm" ? $("#composer") : $("#channel-composer");
  return composer ? composer.offsetHeight : 0;
}

function messageNode(tl, message) {
  const edited = message.updated_at !== message.created_at;
  const node = el("article", { class: "msg bot", "data-id": message.id },
    el("header", { class: "meta" },
      el("span", { class: "sender", text: word("pmo_bot") }),
      el("time", { datetime: message.created_at, text: when(message.created_at) }),
      edited
        ? el("span", { class: "edited", title: wordText("updated_at", { time: when(message.updated_at) }), text: word("edited") })
        : null),
    renderView(message.view, actions(tl, message.id)));
  return node;
}

// Add what is new, redraw what changed (an answered check-in shows its answer in place).
function merge(tl, messages) {
  let added = 0;
  for (const message of messages) {
    const text = canon(message.view);
    const old = tl.items.get(message.id);
    if (!old) {
      const node = messageNode(tl, message);
      tl.items.set(message.id, node);
      tl.el.append(node);
      added += 1;
    } else if (tl.views.get(message.id) !== text) {
      const node = messageNode(tl, message);
      old.replaceWith(node);
      tl.items.set(message.id, node);
    }
    tl.views.set(message.id, text);
  }
  return added;
}

function appendMine(tl, text) {
  const node = el("div", { class: "msg mine" }, el("div", { class: "bubble", text }));
  tl.el.append(node);
  return node;
}

function appendReply(tl, view) {
  const node = el("article", { class: "msg bot ephemeral" },
    el("header", { class: "meta" },
      el("span", { class: "sender", text: word("pmo_bot") }),
      el("span", { class: "only-you", text: word("only_you") })));
  node.append(renderView(view, actions(tl, null, node)));
  tl.el.append(node);
  return node;
}

// What a button or a form in a message does: send it, then show the message as it now is.
function actions(tl, messageId, ephemeralNode) {
  return {
    act: async (action, payload, values, controls) => {
      const key = messageId !== null ? messageId : ephemeralNode;
      clearNotice(tl, key);
      controls.forEach((c) => { c.disabled = true; });
      try {
        const body = { person: state.me, action, payload };
        if (values !== undefined) body.values = values;
        const { view } = await api("POST", "act", body);
        await refresh();
        // A click whose answer is the updated message itself needs no extra word.
        if (messageId === null || tl.views.get(messageId) !== canon(view)) showNotice(tl, key, view);
      } catch (err) {
        showNotice(tl, key, { ok: false, text: err.message });
      } finally {
        controls.forEach((c) => { if (c.isConnected) c.disabled = false; });
      }
    },
  };
}

function clearNotice(tl, key) {
  const old = tl.notices.get(key);
  if (old) old.remove();
  tl.notices.delete(key);
}

function showNotice(tl, key, view) {
  clearNotice(tl, key);
  const anchor = typeof key === "number" ? tl.items.get(key) : key;
  if (!anchor) return;
  const notice = el("div", { class: view.ok === false ? "notice refusal" : "notice", role: "status" },
    renderView({ ...view, choices: [], form: null }, actions(tl, null, null)));
  anchor.after(notice);
  tl.notices.set(key, notice);
}

// ---- refreshing ------------------------------------------------------------------------------------------

async function refresh() {
  if (state.tab === "dm") await refreshInbox();
  else await refreshChannels();
}

async function refreshInbox() {
  if (state.me === null) return;
  const person = state.me;
  const data = await api("GET", `inbox?person=${person}`);
  if (state.me !== person) return; // switched while waiting
  const tl = timeline(`p:${person}`);
  const follow = nearBottom();
  const added = merge(tl, data.messages);
  showTimeline($("#timeline"), tl, dmEmptyState());
  if (added && follow) scrollToBottom();
}

async function refreshChannels() {
  const data = await api("GET", "channels");
  const list = $("#channel-list");
  list.replaceChildren(
    ...data.channels.map((ch) =>
      el("button", {
        type: "button",
        role: "listitem",
        class: ch.name === state.channel ? "channel current" : "channel",
        "aria-current": ch.name === state.channel ? "true" : null,
        onclick: () => openChannel(ch.name),
      }, el("span", { text: ch.name }), el("span", { class: "count", text: String(ch.messages) }))),
  );
  if (!state.channel && data.channels.length) state.channel = data.channels[0].name;
  if (!state.channel) {
    showTimeline($("#channel-timeline"), null, channelEmptyState());
    return;
  }
  const name = state.channel;
  if (!CHANNEL_NAME.test(name)) {
    // Not a channel name: the command typed there was refused, and there is nothing to fetch.
    showTimeline($("#channel-timeline"), timeline(`c:${name}`), channelEmptyState(name));
    return;
  }
  const posts = await api("GET", `channel?name=${encodeURIComponent(name)}`);
  if (state.channel !== name) return;
  const tl = timeline(`c:${name}`);
  const follow = nearBottom();
  const added = merge(tl, posts.messages);
  showTimeline($("#channel-timeline"), tl, channelEmptyState(name));
  if (added && follow) scrollToBottom();
}

function showTimeline(container, tl, empty) {
  const wanted = tl && (tl.el.childElementCount || !empty) ? tl.el : empty;
  if (container.firstElementChild !== wanted || container.childElementCount !== 1) {
    container.replaceChildren(wanted);
  }
}

// A command inside a sentence: always English, as the bot reads it.
function code(command) {
  return el("code", { text: command });
}

function dmEmptyState() {
  const person = me();
  const box = el("div", { class: "empty" });
  if (isStaff(person)) {
    box.append(
      el("h3", { text: word("staff_empty_title") }),
      el("ol", {},
        el("li", {}, ...wordNodes("staff_empty_project", { command: code("/pmo project add Apollo sponsor:sam@example.com") })),
        el("li", {}, ...wordNodes("staff_empty_checkin", { command: code("/pmo checkin Apollo") })),
        el("li", {}, ...wordNodes("staff_empty_answer", { who: el("strong", { text: word("who_are_you") }) })),
        el("li", {}, ...wordNodes("staff_empty_report", { button: el("strong", { text: word("value_report") }) }))),
    );
  } else {
    box.append(
      el("h3", { text: word("empty_title") }),
      el("p", {}, ...wordNodes("empty_text", { command: code("/pmo help") })),
    );
  }
  return box;
}

function channelEmptyState(name) {
  return el("div", { class: "empty" },
    el("h3", { text: name ? wordText("channel_empty", { channel: name }) : word("no_channel_posts") }),
    el("p", {}, ...wordNodes("channel_empty_text", { alerts: code("/pmo alerts here"), digest: code("/pmo digest here") })));
}

async function poll() {
  if (state.polling || document.hidden) return;
  state.polling = true;
  try {
    state.ticks += 1;
    if (state.ticks % PEOPLE_EVERY === 0) {
      await loadPeople();
      await loadWords(state.me); // a `language` typed in another tab
    }
    await refresh();
    setStatus("");
  } catch (err) {
    setStatus(err.message);
  } finally {
    state.polling = false;
  }
}

// ---- people --------------------------------------------------------------------------------------------------

const ROLE_WORDS = { admin: "role_admin", staff: "role_staff", member: "role_member" };

function roleWord(role) {
  return ROLE_WORDS[role] ? word(ROLE_WORDS[role]) : role;
}

function personLabel(person) {
  const tags = [];
  if (person.role !== "member") tags.push(roleWord(person.role));
  if (person.sponsor) tags.push(word("role_sponsor"));
  return tags.length ? `${person.name} · ${tags.join(", ")}` : person.name;
}

async function loadPeople(select) {
  const data = await api("GET", "people");
  const unchanged = canon(data.people) === canon(state.people) && $("#person").options.length > 0;
  state.people = data.people;
  if (unchanged && select === undefined) {
    showBadges(); // rebuilding the options would close the list if it is open
    return;
  }
  const wanted = select !== undefined ? select : state.me;
  drawPicker(wanted);
  let chosen = state.people.find((p) => p.id === wanted);
  if (!chosen) {
    const saved = Number(localStorage.getItem("pmo-console-person"));
    chosen = state.people.find((p) => p.id === saved) || state.people.find((p) => p.role === "admin") || state.people[0];
  }
  if (chosen) {
    $("#person").value = String(chosen.id);
    if (chosen.id !== state.me) await choosePerson(chosen.id);
    else showBadges();
  }
}

// The people under "Who are you?", grouped, in the page's words; `wanted` stays selected.
function drawPicker(wanted) {
  const groups = [
    ["group_staff", (p) => isStaff(p)],
    ["group_sponsors", (p) => !isStaff(p) && p.sponsor],
    ["group_others", (p) => !isStaff(p) && !p.sponsor],
  ];
  const picker = $("#person");
  picker.replaceChildren(
    ...groups
      .map(([key, test]) => [word(key), state.people.filter(test)])
      .filter(([, people]) => people.length)
      .map(([label, people]) =>
        el("optgroup", { label }, ...people.map((p) => el("option", { value: p.id, text: personLabel(p) })))),
  );
  if (wanted !== null && wanted !== undefined && state.people.some((p) => p.id === wanted)) {
    picker.value = String(wanted);
  }
}

function showBadges() {
  const person = me();
  const badges = $("#badges");
  badges.replaceChildren();
  if (!person) return;
  if (person.role === "admin") badges.append(el("span", { class: "badge admin", text: word("role_admin") }));
  if (person.role === "staff") badges.append(el("span", { class: "badge staff", text: word("role_staff") }));
  if (person.sponsor) badges.append(el("span", { class: "badge sponsor", text: word("role_sponsor") }));
  if (!badges.childElementCount) badges.append(el("span", { class: "badge", text: word("role_member") }));
}

async function choosePerson(id) {
  state.me = id;
  localStorage.setItem("pmo-console-person", String(id));
  $("#person").value = String(id);
  showBadges();
  await loadWords(id); // before drawing: the empty state and the messages' frames in their words
  if (state.me !== id) return;
  document.body.dataset.person = String(id); // the page is theirs now, in their words
  if (state.tab === "dm") {
    showTimeline($("#timeline"), timeline(`p:${id}`), dmEmptyState());
    await refreshInbox();
    scrollToBottom();
  }
}

// ---- what the person types ----------------------------------------------------------------------------------

// `/pmo …` (or any `/…`) runs a command; other text is a direct message to the bot, which also
// takes commands and, while a pain-point prompt is open, records the reply as the answer.
async function say(text, channel) {
  const words = text.trim();
  if (!words || state.me === null) return;
  const inChannel = channel !== undefined;
  const tl = inChannel ? timeline(`c:${channel}`) : timeline(`p:${state.me}`);
  const container = inChannel ? $("#channel-timeline") : $("#timeline");
  const command = words.startsWith("/") ? words.replace(/^\/(pmo\b)?\s*/i, "") : null;
  appendMine(tl, words);
  showTimeline(container, tl);
  let reply;
  try {
    const { view } = inChannel || command !== null
      ? await api("POST", "command", { person: state.me, text: command !== null ? command || "help" : words, channel })
      : await api("POST", "message", { person: state.me, text: words });
    reply = appendReply(tl, view);
  } catch (err) {
    reply = appendReply(tl, { ok: false, text: err.message });
  }
  reveal(reply);
  // A command may have sent messages (a check-in, an alert) or changed who is a sponsor.
  try {
    await loadPeople();
    await loadWords(state.me); // `/pmo language de` changes the page too
    await refresh();
  } catch (err) {
    setStatus(err.message);
  }
}

function wireComposer(formSelector, inputSelector, channelSelector) {
  $(formSelector).addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $(inputSelector);
    const text = input.value;
    if (!text.trim()) return;
    let channel;
    if (channelSelector) {
      channel = $(channelSelector).value.trim();
      if (!channel.startsWith("#")) channel = `#${channel}`;
      $(channelSelector).value = channel;
      state.channel = channel;
    }
    input.value = "";
    await say(text, channel);
    input.focus();
  });
}

function openChannel(name) {
  state.channel = name;
  $("#channel-name").value = name;
  showTimeline($("#channel-timeline"), timeline(`c:${name}`), channelEmptyState(name));
  refresh().catch((err) => setStatus(err.message));
}

function switchTab(tab) {
  state.tab = tab;
  for (const [name, panel] of [["dm", "#dm"], ["channels", "#channels"]]) {
    $(panel).hidden = name !== tab;
    $(`#tab-${name}`).setAttribute("aria-selected", String(name === tab));
  }
  document.body.dataset.tab = tab;
  refresh().then(scrollToBottom).catch((err) => setStatus(err.message));
}

async function runFromButton(text) {
  if (state.tab !== "dm") switchTab("dm");
  await say(text);
}

// ---- adding yourself -------------------------------------------------------------------------------------------

function wireAddYourself() {
  const dialog = $("#add-dialog");
  const form = $("#add-form");
  const problem = $("#add-error");
  $("#add-yourself").addEventListener("click", () => {
    problem.hidden = true;
    form.reset();
    dialog.showModal();
  });
  $("#add-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const { person } = await api("POST", "people", {
        name: form.elements.name.value,
        email: form.elements.email.value,
      });
      dialog.close();
      await loadPeople(person.id);
    } catch (err) {
      problem.textContent = err.message;
      problem.hidden = false;
    }
  });
}

// ---- start -----------------------------------------------------------------------------------------------------

function fitScrollPadding() {
  const root = document.documentElement.style;
  root.scrollPaddingTop = `${stickyHeaderHeight() + 8}px`;
  root.scrollPaddingBottom = `${visibleComposerHeight() + 8}px`;
}

async function start() {
  document.body.prepend(el("div", { id: "status", class: "status", role: "alert", hidden: true }));
  $("#person").addEventListener("change", (event) => {
    choosePerson(Number(event.target.value)).catch((err) => setStatus(err.message));
  });
  $("#tab-dm").addEventListener("click", () => switchTab("dm"));
  $("#tab-channels").addEventListener("click", () => switchTab("channels"));
  $("#value-report").addEventListener("click", () => runFromButton("/pmo value"));
  $("#help").addEventListener("click", () => runFromButton("/pmo help"));
  $("#home").addEventListener("click", () => runFromButton("/pmo home"));
  wireComposer("#composer", "#say");
  wireComposer("#channel-composer", "#channel-say", "#channel-name");
  wireAddYourself();
  window.addEventListener("resize", fitScrollPadding);
  document.addEventListener("visibilitychange", poll);
  fitScrollPadding();
  try {
    await loadWords(null); // PMO_LANGUAGE's, before anybody is chosen
    await loadPeople();
    document.body.dataset.ready = "true";
  } catch (err) {
    setStatus(err.message);
  }
  setInterval(poll, POLL_MS);
}

document.addEventListener("DOMContentLoaded", start);
