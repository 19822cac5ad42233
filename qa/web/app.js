// The conversation's behaviour: the js_on_load of #qa-chat (qa/app_layout.py), where Gradio
// gives `element` (the component), `trigger` (send an event to Python) and `watch`.
// Every text copied or downloaded was computed in Python (qa/transcript.py) and sits in a
// data- attribute: this script moves it, it never builds or changes it.
const LIMIT = __LIMIT__;

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  // Plain http beyond localhost has no clipboard API: the old way still works there.
  return new Promise((resolve, reject) => {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    ok ? resolve() : reject(new Error("copy refused"));
  });
}

function flash(button, text) {
  const label = button.dataset.label || button.textContent;
  button.dataset.label = label;
  button.textContent = text;
  announce(text);
  setTimeout(() => { button.textContent = label; }, 1600);
}

function turnOf(el) {
  return Number(el.closest(".qa-turn").dataset.turn);
}

function openQuote(quote) {
  const data = { turn: turnOf(quote) };
  if (quote.dataset.quote !== undefined) data.quote = Number(quote.dataset.quote);
  else data.passage = Number(quote.dataset.passage);
  trigger("select", data);
}

function collapse(turnOrPage) {
  turnOrPage.querySelectorAll(".qa-pop").forEach((p) => p.remove());
  turnOrPage.querySelectorAll('.qa-ref[aria-expanded="true"]')
    .forEach((c) => c.setAttribute("aria-expanded", "false"));
}

function showReference(chip) {
  const turn = chip.closest(".qa-turn");
  const n = chip.dataset.ref;
  const anchor = chip.closest("blockquote") || chip;
  const open = anchor.parentElement.querySelector(`.qa-pop[data-ref="${n}"]`);
  collapse(turn);
  if (open) return; // a second click closes it
  const entry = turn.querySelector(`.qa-refs li[data-ref="${n}"]`);
  const pop = document.createElement("div");
  pop.className = "qa-pop";
  pop.dataset.ref = n;
  pop.setAttribute("role", "note");
  if (entry) {
    // the entry as the list shows it, its links too (Python escaped it: nothing new is parsed)
    entry.childNodes.forEach((node) => pop.appendChild(node.cloneNode(true)));
  } else {
    pop.textContent = `[${n}] The source's References list has no entry with this number.`;
  }
  anchor.after(pop);
  chip.setAttribute("aria-expanded", "true");
  if (entry) {
    entry.classList.add("qa-flash");
    setTimeout(() => entry.classList.remove("qa-flash"), 2500);
  }
}

// Said to screen readers through the page's one live region (#qa-announce).
function announce(text) {
  const region = document.querySelector("#qa-announce");
  if (!region || !text) return;
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50); // a change, even for the same words
}

function download(button) {
  const blob = new Blob([button.dataset.content], { type: "text/plain;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = button.dataset.filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 5000);
}

function vote(button) {
  const box = button.closest(".qa-feedback");
  box.querySelectorAll(".qa-vote").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
  const reasons = box.querySelector(".qa-reasons");
  const thanks = box.querySelector(".qa-thanks");
  if (button.dataset.vote === "up") {
    reasons.hidden = true;
    trigger("like", { turn: turnOf(button), vote: "up", reason: "" });
    thanks.textContent = "Thanks: saved on this machine.";
  } else {
    reasons.hidden = false;
    thanks.textContent = "";
  }
}

function reason(button) {
  const box = button.closest(".qa-feedback");
  trigger("like", { turn: turnOf(button), vote: "down", reason: button.dataset.reason });
  box.querySelector(".qa-reasons").hidden = true;
  box.querySelector(".qa-thanks").textContent = "Thanks: saved on this machine.";
}

element.addEventListener("click", (ev) => {
  const t = ev.target;
  let b;
  if ((b = t.closest(".qa-copy"))) {
    copyText(b.dataset.copy).then(() => flash(b, "Copied"), () => flash(b, "Copy failed"));
  } else if ((b = t.closest(".qa-download"))) {
    download(b);
  } else if ((b = t.closest(".qa-link"))) {
    const url = location.origin + location.pathname + "?q=" + encodeURIComponent(b.dataset.q);
    copyText(url).then(() => flash(b, "Link copied"), () => flash(b, "Copy failed"));
  } else if ((b = t.closest(".qa-show"))) {
    openQuote(b.closest("figure").querySelector(".qa-quote"));
  } else if ((b = t.closest(".qa-ref"))) {
    showReference(b);
  } else if ((b = t.closest(".qa-vote"))) {
    vote(b);
  } else if ((b = t.closest(".qa-reason"))) {
    reason(b);
  } else if ((b = t.closest(".qa-quote")) && !String(window.getSelection() || "")) {
    openQuote(b); // not when the click ended a text selection
  }
});

element.addEventListener("keydown", (ev) => {
  if ((ev.key === "Enter" || ev.key === " ") && ev.target.matches(".qa-quote")) {
    ev.preventDefault();
    openQuote(ev.target);
  } else if (ev.key === "Escape") {
    collapse(element);
  }
});

// After a new reply: show the START of the newest answer (with its question when that fits).
// On a wide screen the conversation scrolls in its box; on a phone the page is the one
// scrolling surface (app.css), so the page scrolls.
function showNewest() {
  const turns = element.querySelectorAll(".qa-turn");
  const scroller = element.querySelector(".qa-scroll");
  if (!turns.length || !scroller) return;
  const last = turns[turns.length - 1];
  const reply = last.querySelector(".message.bot");
  const user = last.querySelector(".message.user");
  const room = scroller.scrollHeight > scroller.clientHeight ? scroller.clientHeight : window.innerHeight;
  const start = user && reply.offsetTop - user.offsetTop < room / 3 ? user : reply;
  scroller.scrollTop = Math.max(0, start.offsetTop - 6);
  const top = start.getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight * 0.5) {
    window.scrollBy({ top: top - 12 });
  }
}

// The question box: a live count against the limit, so it is known before asking.
function question() {
  return document.querySelector("#qa-question textarea");
}

function updateCount() {
  const box = question();
  const out = document.querySelector("#qa-count");
  if (!box || !out) return;
  const n = box.value.trim().length;
  const over = n - LIMIT;
  out.textContent = n === 0
    ? `Up to ${LIMIT} characters; Enter asks.`
    : over > 0
      ? `${n} / ${LIMIT} characters: ${over} too many, shorten the question.`
      : `${n} / ${LIMIT} characters`;
  out.classList.toggle("qa-over", over > 0);
}

document.addEventListener("input", (ev) => {
  if (ev.target.matches && ev.target.matches("#qa-question textarea")) updateCount();
});

// k: Gradio's slider silently clamps a number typed out of range, and sends the raw number
// to Python first, where it fails. Here a number out of range is held back while typing, then
// clamped on leaving the box (Enter, Tab), and the page says what became of it.
const K_MIN = 1;
const K_MAX = __MAX_K__;
const isK = (el) => el.matches && el.matches("#qa-k input[type=number]");
const kOk = (v) => Number.isInteger(v) && v >= K_MIN && v <= K_MAX;
document.addEventListener("input", (ev) => {
  if (isK(ev.target) && !kOk(Number(ev.target.value))) ev.stopImmediatePropagation();
}, true);
document.addEventListener("change", (ev) => {
  if (!isK(ev.target)) return;
  const note = document.querySelector("#qa-k-note");
  const raw = ev.target.value;
  const typed = Number(raw);
  if (raw === "" || kOk(typed)) {
    if (note) note.textContent = "";
    return;
  }
  const used = Number.isFinite(typed) ? Math.min(K_MAX, Math.max(K_MIN, Math.round(typed))) : K_MIN;
  ev.target.value = String(used);
  ev.target.dispatchEvent(new Event("input", { bubbles: true }));
  if (note) {
    note.textContent = `k goes from ${K_MIN} to ${K_MAX} in whole numbers: ${raw} became ${used}.`;
  }
}, true);

let turnsShown = 0;
watch("value", () => {
  showNewest();
  setTimeout(updateCount, 50);
  const conv = element.querySelector(".qa-conv");
  const turns = conv ? Number(conv.dataset.turns) : 0;
  if (turns > turnsShown) announce(conv.dataset.announce);
  turnsShown = turns;
});

// Focus the question box on wide screens only: on a phone it would scroll the title away
// and open the keyboard. Not when the page was opened to ask a linked question.
(function focusWhenReady(tries) {
  const box = question();
  if (!box) {
    if (tries > 0) setTimeout(() => focusWhenReady(tries - 1), 100);
    return;
  }
  updateCount();
  const linked = new URLSearchParams(location.search).has("q");
  if (window.matchMedia("(min-width: 768px)").matches && !linked) {
    box.focus({ preventScroll: true });
  }
})(50);
