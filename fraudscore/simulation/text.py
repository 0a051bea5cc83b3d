"""Open-text answers composed from slot banks, per language and per writing style.

A text is a join of a few slots (opener, statement, reason, closer), each drawn from a bank; a
slot index of -1 leaves the slot out, so lengths vary from a word to several sentences. Styles:
honest people (varied, often informal), careless people (a word or nothing), LLM agents (fluent,
generic, well punctuated), naive bots (placeholder junk), click farms (copied from a farm pool).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._columns import mix64

__all__ = ["STYLES", "compose_texts", "BANKS"]

STYLES = ("honest", "careless", "llm", "junk", "copied")
HONEST, CARELESS, LLM, JUNK, COPIED = range(5)

# Topic: the respondent's experience with an online service (the survey asks what they like and
# what they would change).
BANKS = {
    "en": {
        "opener": ["", "", "", "honestly", "well", "i think", "I think", "Overall", "mostly", "tbh", "For me",
                   "Personally", "hmm"],
        "statement": ["the app is easy to use", "delivery was quick", "prices are ok", "customer service helped me",
                      "the website is confusing sometimes", "i like the discounts", "its fine", "it works",
                      "the checkout takes too long", "search results are not great", "i use it every week",
                      "the quality was good", "shipping costs are too high", "the support chat was slow",
                      "i like that i can return stuff easily", "nothing special", "pretty good overall",
                      "the layout changed and i dont like it", "notifications are annoying",
                      "I like the loyalty points", "the product descriptions are accurate", "too many ads",
                      "it is cheaper than the store", "my order arrived damaged once", "love the recommendations",
                      "the login keeps logging me out", "good selection of brands", "refunds took ages"],
        "reason": ["", "", "", "because it saves time", "since i work a lot", "when it works",
                   "compared to other sites", "for my family", "especially on my phone", "most of the time",
                   "but not always", "so i keep using it", "which is nice", "for the price"],
        "closer": ["", "", "", "", "thats it", "nothing else", "would recommend", "thanks", "no complaints",
                   "could be better", "happy with it", "please fix it", "idk"],
    },
    "de": {
        "opener": ["", "", "ehrlich gesagt", "also", "ich finde", "Insgesamt", "Für mich"],
        "statement": ["die app ist einfach", "die lieferung war schnell", "die preise sind ok", "der kundenservice war gut",
                      "die seite ist manchmal unübersichtlich", "passt schon", "versand ist zu teuer",
                      "die qualität war gut", "zu viel werbung", "rückgabe ist einfach", "die suche ist schlecht"],
        "reason": ["", "", "weil es zeit spart", "meistens", "auf dem handy", "für den preis", "aber nicht immer"],
        "closer": ["", "", "", "das wars", "sonst nichts", "danke", "könnte besser sein"],
    },
    "es": {
        "opener": ["", "", "la verdad", "bueno", "creo que", "En general", "Para mí"],
        "statement": ["la app es fácil de usar", "el envío fue rápido", "los precios están bien", "el servicio al cliente ayudó",
                      "la página es confusa a veces", "está bien", "el envío es caro", "la calidad fue buena",
                      "demasiados anuncios", "devolver es fácil", "la búsqueda no funciona bien"],
        "reason": ["", "", "porque ahorra tiempo", "casi siempre", "en el celular", "por el precio", "pero no siempre"],
        "closer": ["", "", "", "eso es todo", "nada más", "gracias", "podría mejorar"],
    },
    "fr": {
        "opener": ["", "", "honnêtement", "bon", "je pense que", "Globalement", "Pour moi"],
        "statement": ["l'appli est simple", "la livraison était rapide", "les prix sont corrects", "le service client m'a aidé",
                      "le site est parfois confus", "ça va", "la livraison coûte trop cher", "la qualité était bonne",
                      "trop de pubs", "les retours sont faciles", "la recherche marche mal"],
        "reason": ["", "", "parce que ça fait gagner du temps", "la plupart du temps", "sur mon téléphone",
                   "pour le prix", "mais pas toujours"],
        "closer": ["", "", "", "c'est tout", "rien d'autre", "merci", "peut mieux faire"],
    },
    "pt": {
        "opener": ["", "", "sinceramente", "bom", "acho que", "No geral", "Pra mim"],
        "statement": ["o app é fácil de usar", "a entrega foi rápida", "os preços são ok", "o atendimento ajudou",
                      "o site é confuso às vezes", "tá bom", "o frete é caro", "a qualidade foi boa",
                      "muita propaganda", "devolver é fácil", "a busca não funciona bem"],
        "reason": ["", "", "porque economiza tempo", "quase sempre", "no celular", "pelo preço", "mas nem sempre"],
        "closer": ["", "", "", "é isso", "nada mais", "obrigado", "poderia melhorar"],
    },
}

_CARELESS = ["", "", "good", "ok", "no", "nothing", "n/a", "idk", "fine", "nope", "none", ".", "yes", "na"]
_JUNK = ["test", "good", "asdf", "Lorem ipsum dolor sit amet", "nice survey", "aaaa", "qwerty", "hello",
         "good good good", "very good", "xyz", "ok ok", "I like it very much", "nice"]
_LLM = {
    "opener": ["Overall,", "In my experience,", "Personally,", "To be honest,", "Generally speaking,", "I would say that",
               ""],
    "statement": ["I appreciate how intuitive and user-friendly the app is", "the delivery has been consistently fast and reliable",
                  "the pricing is fair and competitive compared to alternatives",
                  "the customer service team has been responsive and helpful",
                  "the checkout process could be more streamlined",
                  "the search functionality could be improved to show more relevant results",
                  "the product selection is diverse and well organized",
                  "the return process is straightforward and hassle-free",
                  "the mobile experience is smooth and convenient",
                  "shipping costs could be more transparent"],
    "reason": ["which makes the overall experience enjoyable.", "and this saves me a lot of time.",
               "which is something I genuinely value.", "although there is always room for improvement.",
               "particularly when I am shopping on the go.", "which helps me make informed decisions.", ""],
    "closer": ["", "", "Additionally, clearer notifications would be helpful.", "Thank you for the opportunity to share my feedback.",
               "I hope this feedback is helpful.", "Overall, I am satisfied with the service."],
}
_SLOTS = ("opener", "statement", "reason", "closer")


_VOCABS: dict = {}


def _vocab(bank: dict, slot: str) -> pa.Array:
    """The slot's bank as an Arrow array, built once per bank (banks are module constants)."""
    key = (id(bank), slot)
    if key not in _VOCABS:
        # Empty bank entries stand for "no such slot": null, skipped by the join.
        _VOCABS[key] = pa.array([w or None for w in bank[slot]], type=pa.string())
    return _VOCABS[key]


def _slot_text(bank: dict, slot: str, index: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    idx = pa.array(index % len(bank[slot]), mask=None if present is None else ~present)
    return _vocab(bank, slot).take(idx)


def _compose(bank: dict, seed: np.ndarray, item: int, statements: int) -> pa.Array:
    """Texts, one per seed, shape (m,): slots chosen by hashing the seed, so equal seeds give equal text."""
    parts = []
    m = len(seed)
    if m == 0:
        return pa.array([], type=pa.string())
    for j, slot in enumerate(_SLOTS):
        h = mix64(seed, np.full(m, item * 31 + j))
        if slot == "statement":
            parts.append(_slot_text(bank, slot, (h % np.uint64(1 << 20)).astype(np.int64)))
            if statements > 1:
                second = (h >> np.uint64(40)) % np.uint64(3) == 0  # a third write two statements
                parts.append(_slot_text(bank, slot, ((h >> np.uint64(20)) % np.uint64(1 << 20)).astype(np.int64), second))
            continue
        parts.append(_slot_text(bank, slot, (h % np.uint64(1 << 20)).astype(np.int64)))
    joined = pc.binary_join_element_wise(*parts, " ", null_handling="skip")
    return pc.fill_null(joined, "")


def compose_texts(style: np.ndarray, seed: np.ndarray, n_text: int, language: str,
                  capitalize: np.ndarray) -> pa.Array:
    """Open-text answers, flat array of shape (n * n_text,) in row-major (row, item) order.

    Parameters
    ----------
    style : ndarray of shape (n,)
        Index into :data:`STYLES`.
    seed : ndarray of uint64-compatible ints, shape (n,)
        Rows with equal seed and style get equal text (copies, duplicates).
    capitalize : ndarray of bool, shape (n,)
        Upper-case the first letter and end with a full stop (a tidy writer).
    """
    n = len(style)
    bank = BANKS.get(language, BANKS["en"])
    seed = np.asarray(seed).astype(np.uint64)
    style = np.asarray(style)
    # Each style's texts are composed only for the rows that have it (most rows are honest; the
    # fluent LLM texts alone cost as much as the honest ones when built for every row), then one
    # take puts every (row, item) text in place.
    careless_rows = np.flatnonzero(style == CARELESS)
    llm_rows = np.flatnonzero(style == LLM)
    junk_rows = np.flatnonzero(style == JUNK)
    honest_rows = np.flatnonzero((style != CARELESS) & (style != LLM) & (style != JUNK))
    tidy_rows = np.asarray(capitalize)[honest_rows]
    order = np.empty((n, n_text), dtype=np.int64)  # each (row, item) text's place in ``pieces``
    pieces = []
    done = 0
    for item in range(n_text):
        honest = _compose(bank, seed[honest_rows], item, statements=2)
        tidy = np.flatnonzero(tidy_rows & (pc.utf8_length(honest).to_numpy(zero_copy_only=False) > 0))
        h = mix64(seed, np.full(n, 977 + item))
        careless = pa.array(_CARELESS, type=pa.string()).take(
            pa.array((h[careless_rows] % np.uint64(len(_CARELESS))).astype(np.int64)))
        junk = pa.array(_JUNK, type=pa.string()).take(
            pa.array(((h[junk_rows] >> np.uint64(8)) % np.uint64(len(_JUNK))).astype(np.int64)))
        llm = _compose(_LLM, seed[llm_rows], item, statements=1)
        for rows, piece in ((honest_rows, honest), (careless_rows, careless), (llm_rows, llm), (junk_rows, junk)):
            order[rows, item] = done + np.arange(len(rows))
            pieces.append(piece)
            done += len(rows)
        # Tidy writers: capitalised, with a full stop.
        order[honest_rows[tidy], item] = done + np.arange(len(tidy))
        pieces.append(pc.binary_join_element_wise(pc.utf8_capitalize(honest.take(pa.array(tidy))), pa.scalar("."), ""))
        done += len(tidy)
    if not pieces:
        return pa.array([], type=pa.string())
    return pa.concat_arrays(pieces).take(pa.array(order.ravel()))
