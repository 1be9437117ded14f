// The kiosk: one tap per question, then a thank-you and back to the first question.
// Each completed sequence is queued on the device with an id made here and its tap time, and
// sent to /k/answers; the server stores each id once, so sending again is always safe.
(function () {
  "use strict";
  var QUEUE_KEY = "kiosk-queue";
  var QUEUE_LIMIT = 2000; // oldest answers are kept; beyond this the newest are not queued
  var BATCH = 100;
  var body = document.body;
  var url = body.getAttribute("data-answers-url");
  var thanksSeconds = Number(body.getAttribute("data-thanks-seconds")) || 5;
  var questions = Array.prototype.slice.call(document.querySelectorAll(".question"));
  var thanks = document.getElementById("thanks");
  var counter = document.getElementById("queue");
  var answers = {};
  var step = 0;
  var sending = false;
  var resetTimer = null;

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(QUEUE_KEY)) || []; } catch (e) { return []; }
  }

  function save(queue) {
    localStorage.setItem(QUEUE_KEY, JSON.stringify(queue));
    counter.textContent = queue.length ? String(queue.length) : "";
  }

  function show(index) {
    questions.forEach(function (q, i) { q.classList.toggle("current", i === index); });
    thanks.classList.toggle("current", index === questions.length);
  }

  function restart() {
    answers = {};
    step = 0;
    body.classList.remove("lang-en");
    show(0);
  }

  function finish() {
    var queue = load();
    if (queue.length < QUEUE_LIMIT) {
      queue.push({ id: newId(), tapped_at: new Date().toISOString(), answers: answers });
      save(queue);
    }
    show(questions.length);
    resetTimer = setTimeout(restart, thanksSeconds * 1000);
    send();
  }

  function send() {
    var queue = load();
    if (sending || !queue.length || !navigator.onLine) return;
    sending = true;
    var batch = queue.slice(0, BATCH);
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(batch)
    }).then(function (reply) {
      if (!reply.ok) throw new Error(String(reply.status));
      return reply.json();
    }).then(function (result) {
      // Stored and refused ids leave the queue; a refused answer would be refused again.
      var done = {};
      (result.stored || []).forEach(function (id) { done[id] = true; });
      Object.keys(result.errors || {}).forEach(function (id) { done[id] = true; });
      save(load().filter(function (item) { return !done[item.id]; }));
      sending = false;
      if (load().length && Object.keys(done).length) send();
    }).catch(function () {
      sending = false;
    });
  }

  questions.forEach(function (q) {
    q.addEventListener("click", function (event) {
      var button = event.target.closest(".choice");
      if (!button) return;
      answers[q.getAttribute("data-key")] = button.getAttribute("data-value");
      step += 1;
      if (step < questions.length) show(step); else finish();
    });
  });
  thanks.addEventListener("click", function () { clearTimeout(resetTimer); restart(); });
  document.getElementById("lang").addEventListener("click", function () {
    body.classList.toggle("lang-en");
  });
  window.addEventListener("online", send);
  setInterval(send, 30000);
  save(load());
  send();
})();
