"""The demo survey: its items, the SurveySpec fraudscore scores it with, and its page.

A customer-experience questionnaire with the layout of the survey the shipped model was trained
on (:func:`fraudscore.simulation.design.default_survey`): 26 five-point Likert items in three
interleaved scales of eight (ease of use, the product, delivery and service), half of each scale
reverse-keyed, instructed-response attention checks at items 10 and 20, two open-text questions,
and a honeypot field people never see. Same survey id, scales and checks mean the model's fitted
per-survey statistics (median duration, careless-responding references) apply to it; a survey
with another layout needs a model fitted on that layout (``notebooks/retrain.ipynb``).
"""

from __future__ import annotations

import dataclasses
import html

from fraudscore.simulation.design import default_survey

__all__ = ["SURVEY_ID", "LIKERT_ITEMS", "TEXT_ITEMS", "LIKERT_LABELS", "SPEC", "N_ITEMS", "survey_page"]

LIKERT_LABELS = ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree")

#: Statement per Likert item, in page order. Scale A (ease of use) is items 0, 3, 6, ...; B (the
#: product) 1, 4, 7, ...; C (delivery and service) 2, 5, 8, ... (skipping the two checks); every
#: second item of a scale is reverse-keyed, as in the trained layout.
LIKERT_ITEMS = (
    "The shop's website made it easy to find my way around.",                     # 0  A
    "I am satisfied with the product I bought.",                                   # 1  B
    "My order arrived when the shop said it would.",                               # 2  C
    "I often could not find the page I was looking for.",                          # 3  A reverse
    "The product was worse than its description suggested.",                       # 4  B reverse
    "I worried that my order would never arrive.",                                 # 5  C reverse
    "Searching for products gave me useful results.",                              # 6  A
    "The product was good value for its price.",                                   # 7  B
    "The shop kept me informed about my delivery.",                                # 8  C
    "To show that you are reading, please select 'Disagree' for this statement.",  # 9  check: 2
    "Checking out took more steps than it should have.",                           # 10 A reverse
    "I regret buying this product.",                                               # 11 B reverse
    "Customer service was hard to reach when I needed it.",                        # 12 C reverse
    "Product pages told me everything I needed to know.",                          # 13 A
    "I would recommend this product to a friend.",                                 # 14 B
    "I trust this shop with my payment details.",                                  # 15 C
    "The website felt slow and confusing on my device.",                           # 16 A reverse
    "The product stopped working sooner than I expected.",                         # 17 B reverse
    "Returning an item would be a hassle with this shop.",                         # 18 C reverse
    "Please select 'Agree' for this statement so we know you are paying attention.",  # 19 check: 4
    "The filters and categories helped me narrow down my choice.",                 # 20 A
    "The product does what I bought it for.",                                      # 21 B
    "Problems with my order were solved quickly.",                                 # 22 C
    "I had to enter the same information more than once.",                         # 23 A reverse
    "I would not buy this product again.",                                         # 24 B reverse
    "The delivery cost was an unpleasant surprise at checkout.",                   # 25 C reverse
)
TEXT_ITEMS = ("What did you like most about the shop?", "What one thing should the shop improve?")
N_ITEMS = len(LIKERT_ITEMS) + len(TEXT_ITEMS)

# The trained layout (survey id, scales, reverse keys, checks), with this page's real word counts.
SPEC = dataclasses.replace(default_survey("US", "en"),
                           item_words=tuple(len(text.split()) for text in LIKERT_ITEMS))
SURVEY_ID = SPEC.survey_id


def _likert_item(index: int, text: str) -> str:
    options = "".join(
        f'<label class="option"><input type="radio" name="q{index}" value="{value}" data-item="{index}">'
        f"<span>{html.escape(label)}</span></label>"
        for value, label in enumerate(LIKERT_LABELS, start=1))
    return (f'<fieldset class="item" id="item-{index}"><legend>{index + 1}. {html.escape(text)}</legend>'
            f'<div class="options">{options}</div></fieldset>')


def _text_item(index: int, text_index: int, text: str) -> str:
    return (f'<fieldset class="item" id="item-{index}"><legend>{index + 1}. {html.escape(text)}</legend>'
            f'<textarea name="t{text_index}" rows="3" maxlength="2000" data-item="{index}" '
            f'data-text="{text_index}"></textarea></fieldset>')


def survey_page() -> str:
    """The survey page: consent question first, the questionnaire after the decision.

    All behaviour lives in ``/static/survey.js`` and ``/collector.js`` (the server's Content
    Security Policy forbids inline scripts).
    """
    likert = "".join(_likert_item(i, text) for i, text in enumerate(LIKERT_ITEMS))
    texts = "".join(_text_item(len(LIKERT_ITEMS) + j, j, text) for j, text in enumerate(TEXT_ITEMS))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shop experience survey</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body data-survey-id="{SURVEY_ID}" data-items="{N_ITEMS}" data-likert="{len(LIKERT_ITEMS)}">
<main>
<h1>Your experience with our shop</h1>
<section id="consent" aria-labelledby="consent-title">
  <h2 id="consent-title">Before you start</h2>
  <p>To keep this survey free of bots and duplicate entries we can use extra information about
  your visit. You choose; the survey works the same either way. Nothing is sent before you answer
  and submit. <a href="/privacy" target="_blank" rel="noopener">What is collected and why</a>.</p>
  <label class="choice"><input type="checkbox" id="consent-usage">
    <span><strong>Device and network data</strong>: browser and device properties (for example screen
    size, time zone, languages, graphics card), a first-party cookie id, your IP address and the page
    that sent you here.</span></label>
  <label class="choice"><input type="checkbox" id="consent-analytics">
    <span><strong>Interaction analytics</strong>: how the mouse moves and clicks, scrolling, the timing of
    key presses (never which keys) and the time spent on each question.</span></label>
  <button type="button" id="consent-continue">Continue to the survey</button>
</section>
<form id="survey" hidden novalidate>
  {likert}
  {texts}
  <div class="hp" aria-hidden="true">
    <label>Leave this field empty <input type="text" name="website" id="hp" tabindex="-1" autocomplete="off"></label>
  </div>
  <button type="submit" id="submit">Submit</button>
</form>
<section id="thanks" hidden><h2>Thank you!</h2><p>Your answers were received.</p></section>
</main>
<script src="/collector.js"></script>
<script src="/static/survey.js"></script>
</body>
</html>
"""
