// The demo survey page: consent first, then the questionnaire; the collector gathers what the
// consent allows and the submission is posted as one JSON object.
(function () {
  "use strict";
  var body = document.body;
  var nItems = Number(body.dataset.items);
  var nLikert = Number(body.dataset.likert);
  // The collector does nothing until it is told the respondent's decision.
  var collector = FraudscoreCollector.create({ items: nItems });
  var form = document.getElementById("survey");

  document.getElementById("consent-continue").addEventListener("click", function () {
    collector.setConsent({
      usage: document.getElementById("consent-usage").checked,
      analytics: document.getElementById("consent-analytics").checked,
    });
    document.getElementById("consent").hidden = true;
    form.hidden = false;
  });

  // Per-item time: every answer change and every keystroke in a text box marks its item.
  form.addEventListener("change", function (e) {
    if (e.target.dataset.item !== undefined) collector.item(Number(e.target.dataset.item));
  });
  form.addEventListener("input", function (e) {
    if (e.target.dataset.text !== undefined) collector.item(Number(e.target.dataset.item));
  });

  function answers() {
    var likert = [];
    for (var i = 0; i < nLikert; i++) {
      var checked = form.querySelector('input[name="q' + i + '"]:checked');
      likert.push(checked ? Number(checked.value) : null);
    }
    var text = Array.prototype.map.call(form.querySelectorAll("textarea[data-text]"), function (t) { return t.value; });
    return { likert: likert, text: text, honeypot: document.getElementById("hp").value };
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var button = document.getElementById("submit");
    button.disabled = true;
    var base = { answers: answers() };
    var panelId = new URLSearchParams(window.location.search).get("rid");
    if (panelId) base.respondent_id = panelId;
    collector.finish(base).then(function (submission) {
      return fetch("/api/submissions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(submission),
      });
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      form.hidden = true;
      document.getElementById("thanks").hidden = false;
    }).catch(function (err) {
      button.disabled = false;
      button.textContent = "Submit again (" + err.message + ")";
    });
  });
})();
