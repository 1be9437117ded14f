// The kiosk: one tap per question, then a thank-you and back to the first question.
// Each completed sequence is queued on the device with an id made here and its tap time, and
// sent to /k/answers; the server stores each id once, so sending again is always safe.
(function () {
  "use strict";
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

  // The queue: an IndexedDB store of answers keyed by their device id, kept until sent.
  var opened = new Promise(function (resolve, reject) {
    var request = indexedDB.open("kiosk", 1);
    request.onupgradeneeded = function () { request.result.createObjectStore("answers", { keyPath: "id" }); };
    request.onsuccess = function () { resolve(request.result); };
    request.onerror = function () { reject(request.error); };
  });

  function store(mode, work) {
    return opened.then(function (database) {
      return new Promise(function (resolve, reject) {
        var tx = database.transaction("answers", mode);
        var result = work(tx.objectStore("answers"));
        tx.oncomplete = function () { resolve(result && result.result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }

  function load() {
    return store("readonly", function (answersStore) { return answersStore.getAll(); }).then(function (items) {
      items = items || [];
      items.sort(function (a, b) { return a.tapped_at < b.tapped_at ? -1 : 1; });
      counter.textContent = items.length ? String(items.length) : "";
      return items;
    });
  }

  function enqueue(item) {
    return store("readonly", function (answersStore) { return answersStore.count(); }).then(function (count) {
      if (count >= QUEUE_LIMIT) return null;
      return store("readwrite", function (answersStore) { answersStore.put(item); });
    }).then(load);
  }

  function forget(ids) {
    return store("readwrite", function (answersStore) {
      ids.forEach(function (id) { answersStore.delete(id); });
    }).then(load);
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
    var item = { id: newId(), tapped_at: new Date().toISOString(), answers: answers };
    show(questions.length);
    resetTimer = setTimeout(restart, thanksSeconds * 1000);
    enqueue(item).then(send);
  }

  function send() {
    if (sending || !navigator.onLine) return;
    sending = true;
    load().then(function (queue) {
      if (!queue.length) return [];
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(queue.slice(0, BATCH))
      }).then(function (reply) {
        if (!reply.ok) throw new Error(String(reply.status));
        return reply.json();
      }).then(function (result) {
        // Stored and refused ids leave the queue (a refused answer would be refused again);
        // one the server could not store ("not-stored") stays, to be sent again.
        var errors = result.errors || {};
        var refused = Object.keys(errors).filter(function (id) { return errors[id] !== "not-stored"; });
        var done = (result.stored || []).concat(refused);
        return forget(done).then(function (left) { return done.length ? left : []; });
      });
    }).then(function (left) {
      sending = false;
      if (left.length) send();
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
  if ("serviceWorker" in navigator) navigator.serviceWorker.register(body.getAttribute("data-worker-url"));
  load().then(send);
})();
